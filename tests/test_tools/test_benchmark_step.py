from pathlib import Path

import pytest

from mmdense.analysis.step_benchmark import (benchmark_steps, build_model_for_benchmark,
                                             uses_channels_last)

ROOT = Path(__file__).resolve().parents[2]
DENSECL = str(ROOT / 'configs/densecl/densecl_r18_demo.py')
MOCOV2 = str(ROOT / 'configs/mocov2/mocov2_r18_demo.py')


def test_benchmark_times_every_config_on_the_same_inputs():
    results = benchmark_steps([DENSECL, MOCOV2], batch_size=2, image_size=64, warmup=1, repeats=2)
    assert list(results) == [DENSECL, MOCOV2]
    for r in results.values():
        assert r['step_s'] > 0
        assert r['images_per_s'] == pytest.approx(2 / r['step_s'])


def test_queue_len_override_reaches_the_model():
    model = build_model_for_benchmark(DENSECL, queue_len=16)
    assert model.queue.feats.shape[0] == 16 and model.dense_queue.feats.shape[0] == 16


def test_channels_last_and_process_group_paths_run_on_cpu(monkeypatch):
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')  # restored after the test
    monkeypatch.setenv('MASTER_PORT', '29731')
    results = benchmark_steps([DENSECL], batch_size=2, image_size=64, warmup=0, repeats=1,
                              channels_last=True, process_group=True)
    assert results[DENSECL]['step_s'] > 0 and results[DENSECL]['channels_last'] is True
    import torch.distributed as dist
    if dist.is_initialized():  # leave no group behind for other tests
        dist.destroy_process_group()


def test_amp_needs_cuda_and_a_known_dtype():
    with pytest.raises(ValueError, match='CUDA'):
        benchmark_steps([DENSECL], amp='fp16', device='cpu')
    with pytest.raises(ValueError, match="'fp16' or 'bf16'"):
        benchmark_steps([DENSECL], amp='fp8', device='cpu')


def test_mmpretrain_reference_is_built_by_mmpretrain_and_bad_names_say_where_to_look():
    model = build_model_for_benchmark('mmpretrain::mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py',
                                      queue_len=16)
    # mmpretrain's own class, not ours, although the default scope here is mmdense.
    assert type(model).__module__.startswith('mmpretrain.') and model.queue.shape == (128, 16)
    with pytest.raises(FileNotFoundError, match='no such config in mmpretrain 1.2.0'):
        build_model_for_benchmark('mmpretrain::densecl/no_such_config.py')


def test_supervised_reference_is_a_one_view_classification_step():
    import torch
    model = build_model_for_benchmark('supervised::resnet18')
    assert model.fc.in_features == 512 and model.fc.out_features == 1000
    views = [torch.randn(2, 3, 64, 64), torch.full((2, 3, 64, 64), float('nan'))]
    loss = model.loss(views)['loss']  # the second view is never read
    assert torch.isfinite(loss) and loss.item() > 0
    results = benchmark_steps([DENSECL, 'supervised::resnet18'], batch_size=2, image_size=64,
                              warmup=0, repeats=1)
    assert results['supervised::resnet18']['step_s'] > 0
    with pytest.raises(ValueError, match='supervised::resnet18/34/50'):
        build_model_for_benchmark('supervised::resnet42')


def test_each_model_runs_in_its_own_memory_format_unless_one_is_imposed(tmp_path):
    """None: ours as the config says, the references as shipped; True/False: all of them."""
    config = tmp_path / 'densecl_channels_last.py'
    config.write_text(f"_base_ = '{DENSECL}'\ndata_preprocessor = dict(channels_last=True)\n")
    ours, reference = str(config), 'supervised::resnet18'
    formats = {(c, imposed): uses_channels_last(build_model_for_benchmark(c, 16, imposed))
               for c in (ours, DENSECL, reference) for imposed in (None, True, False)}
    assert [formats[c, None] for c in (ours, DENSECL, reference)] == [True, False, False]
    assert all(formats[c, True] and not formats[c, False] for c in (ours, DENSECL, reference))
    results = benchmark_steps([ours, DENSECL], batch_size=2, image_size=32, warmup=0, repeats=1)
    assert [results[c]['channels_last'] for c in (ours, DENSECL)] == [True, False]
