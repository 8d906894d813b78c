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
