from pathlib import Path

import pytest

from mmdense.utils.step_benchmark import benchmark_steps, build_model_for_benchmark

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
