"""Data-pipeline benchmark (mmdense.analysis.data_benchmark, tools/analysis/benchmark_data.py)."""
import glob
import os.path as osp
from pathlib import Path

import pytest

from mmdense.analysis.data_benchmark import (benchmark_pipeline, build_config_pipeline,
                                             build_reference_pipeline)
from mmdense.datasets.demo.scenes import generate_demo_data

ROOT = Path(__file__).resolve().parents[2]
DENSECL = str(ROOT / 'configs/densecl/densecl_r18_demo.py')


@pytest.fixture(scope='module')
def jpegs(tmp_path_factory):
    root = generate_demo_data(str(tmp_path_factory.mktemp('bench')), num_images=6, image_size=80)
    return sorted(glob.glob(osp.join(root, 'train', '*', '*.JPEG')))


def test_instrumented_pipeline_times_every_leaf_transform_once(jpegs):
    totals = {}
    pipeline = build_config_pipeline(DENSECL, totals)
    out = pipeline(dict(img_path=jpegs[0]))
    assert len(out['inputs']) == 2  # the two views still come out
    # Leaves of MultiView's view pipeline and of RandomApply are timed; containers are not.
    assert {'LoadImageFromFile', 'RandomResizedCropWithBox', 'RandomGrayscale',
            'RandomFlipWithBox', 'PackSelfSupInputs'} <= set(totals)
    assert 'MultiView' not in totals and 'RandomApply' not in totals
    assert all(t >= 0 for t in totals.values())


def test_reference_pipeline_makes_two_normalised_views(jpegs):
    views = build_reference_pipeline(32)(jpegs[0])
    assert len(views) == 2 and all(v.shape == (3, 32, 32) for v in views)
    assert (views[0] < 0).any() or (views[0] > 1).any()  # normalised, not [0, 1]


def test_benchmark_reports_consistent_figures(jpegs):
    result = benchmark_pipeline(DENSECL, jpegs, repeats=1, warmup=1, reference_size=64)
    for name in ('ours', 'reference'):
        r = result[name]
        assert r['samples_per_s'] == pytest.approx(1e3 / r['ms_per_sample'])
    assert result['ratio'] == pytest.approx(result['ours']['samples_per_s']
                                            / result['reference']['samples_per_s'])
    breakdown = result['breakdown']
    assert '(other)' in breakdown and breakdown['ColorJitter'] > 0
    assert sum(breakdown.values()) >= result['ours']['ms_per_sample'] * 0.5
    no_ref = benchmark_pipeline(DENSECL, jpegs[:2], repeats=1, warmup=0, reference_size=None)
    assert no_ref['reference'] is None and no_ref['ratio'] is None


def test_bench_jpegs_are_imagenet_sized_and_written_once(tmp_path):
    from mmdense.analysis.data_benchmark import write_bench_jpegs
    from mmdense.datasets.transforms import read_jpeg_header
    paths = write_bench_jpegs(str(tmp_path), num_images=3, width=50, height=30, quality=90)
    assert len(paths) == 3
    for path in paths:
        header = read_jpeg_header(Path(path).read_bytes())
        assert (header.height, header.width) == (30, 50)
    mtimes = [osp.getmtime(p) for p in paths]
    assert write_bench_jpegs(str(tmp_path), 3, 50, 30, 90) == paths
    assert [osp.getmtime(p) for p in paths] == mtimes  # reused, not rewritten


def test_pipeline_variants_switch_decode_and_drop_photometric_ops():
    from mmengine.config import Config

    from mmdense.analysis.data_benchmark import drop_photometric, set_reduced_decode
    pipeline = Config.fromfile(DENSECL).train_dataloader.dataset.pipeline
    reduced = set_reduced_decode(pipeline, True)
    assert reduced[0] == dict(type='LoadImageFromFile', reduced_decode=True)
    assert 'reduced_decode' not in pipeline[0] or not pipeline[0]['reduced_decode']  # a copy
    geometric = drop_photometric(pipeline)
    views = [[t['type'] for t in view] for view in geometric[1]['transforms']]
    assert views == [['RandomResizedCropWithBox', 'RandomFlipWithBox']]
    assert len(pipeline[1]['transforms'][0]) == 5  # the original keeps its photometric ops


def write_device_aug_config(tmp_path) -> str:
    """A stand-in for a *_device-aug.py config: crop and flip only in the worker."""
    path = tmp_path / 'densecl_r18_demo_device-aug.py'
    path.write_text(f"""_base_ = '{DENSECL}'
view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=64, scale=(0.2, 1.)),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]))
model = dict(data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[0., 0., 0.],
                                    std=[1., 1., 1.]))
""")
    return str(path)


def test_benchmark_data_times_every_variant_and_the_device_part(jpegs, tmp_path):
    from mmdense.analysis.data_benchmark import DATA_BENCH_ROWS, benchmark_data
    result = benchmark_data(DENSECL, jpegs[:3], repeats=1, warmup=1, reference_size=32,
                            device_batch_size=2)
    assert list(result['pipelines']) == list(DATA_BENCH_ROWS)
    ref = result['pipelines']['reference']['samples_per_s']
    for name, ratio in result['ratios'].items():
        assert ratio == pytest.approx(result['pipelines'][name]['samples_per_s'] / ref)
    assert result['device_aug_source'] == 'derived'
    # The derived CPU part has no photometric transforms; (a) has them.
    assert 'ColorJitter' in result['breakdowns']['ours']
    assert 'ColorJitter' not in result['breakdowns']['device_aug']
    device = result['device_part']
    assert device['batch_size'] == 2 and device['ms_per_image'] > 0 and device['device'] == 'cpu'
    # 80 px images, 64 px crops: no crop allows a reduction, every view decodes at 1/1.
    assert set(result['decode_scales']['reduced']) == {1}
    assert sum(result['decode_scales']['reduced'].values()) == 2 * 3  # two views, 3 images
    config = write_device_aug_config(tmp_path)
    result = benchmark_data(DENSECL, jpegs[:2], device_aug_config=config, repeats=1, warmup=0,
                            reference_size=None, device_batch_size=2)
    assert 'reference' not in result['pipelines'] and not result['ratios']
    assert result['device_aug_source'] == config and result['device_part']['config'] == config
    assert set(result['breakdowns']['device_aug']) == {
        'LoadImageFromFile', 'RandomResizedCropWithBox', 'RandomFlipWithBox', 'PackSelfSupInputs',
        '(other)'}


def test_tool_prints_the_table_and_ends_with_the_ratios(jpegs, capsys):
    import re
    import sys
    sys.path.insert(0, str(ROOT / 'tools' / 'analysis'))
    try:
        import benchmark_data as tool
    finally:
        sys.path.pop(0)
    tool.main([DENSECL, '--images', osp.dirname(osp.dirname(jpegs[0])), '--num-images', '3',
               '--repeats', '1', '--warmup', '1', '--reference-size', '32',
               '--device-batch-size', '2'])
    lines = capsys.readouterr().out.strip().splitlines()
    for label in ('MoCo v2 reference', '(a) ours', '(b) ours, reduced decode',
                  '(c) device aug, CPU part, reduced decode', "(c') device aug"):
        assert any(line.startswith(f'| {label}') for line in lines), label
    assert any(line.startswith('device part: SelfSupDataPreprocessor') for line in lines)
    assert any(line.startswith('decode scales of the reduced crops') for line in lines)
    assert re.fullmatch(
        r'ratios to the torchvision reference: ours [\d.]+x, reduced decode [\d.]+x, device aug '
        r'CPU part [\d.]+x \(\+ device part [\d.]+ ms/image on cpu\), device aug CPU part with '
        r'full decode [\d.]+x', lines[-1]), lines[-1]
    assert tool.image_size('500x375') == (500, 375) and tool.image_size('384') == (384, 384)
