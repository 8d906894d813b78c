"""Cosine momentum schedule: end points, middle, and exactness from any iteration."""
import math
from types import SimpleNamespace

import pytest
import torch.nn as nn

from mmdense.engine.hooks import MomentumScheduleHook, cosine_momentum


class _Model(nn.Module):

    def __init__(self, momentum=0.99):
        super().__init__()
        self.base_momentum = momentum
        self.momentum = momentum


def test_cosine_end_points_and_middle():
    assert cosine_momentum(0.99, 0, 100) == pytest.approx(0.99)
    assert cosine_momentum(0.99, 50, 100) == pytest.approx(0.995)
    assert cosine_momentum(0.99, 100, 100) == pytest.approx(1.0)
    quarter = 1 - 0.01 * (math.cos(math.pi / 4) + 1) / 2
    assert cosine_momentum(0.99, 25, 100) == pytest.approx(quarter)


def test_hook_sets_model_momentum_from_runner_iter():
    model = _Model(0.99)
    hook = MomentumScheduleHook()
    runner = SimpleNamespace(model=model, iter=0, max_iters=10)
    values = []
    for it in range(10):
        runner.iter = it
        hook.before_train_iter(runner, it)
        values.append(model.momentum)
    assert values[0] == pytest.approx(0.99) and values == sorted(values)
    # A resumed run (fresh model, fresh hook, iteration 7) gets the same value: the hook
    # keeps no state of its own.
    resumed = _Model(0.99)
    runner = SimpleNamespace(model=resumed, iter=7, max_iters=10)
    MomentumScheduleHook().before_train_iter(runner, 0)
    assert resumed.momentum == values[7]
    # An explicit base overrides the model's.
    MomentumScheduleHook(base_momentum=0.9).before_train_iter(
        SimpleNamespace(model=resumed, iter=0, max_iters=10), 0)
    assert resumed.momentum == pytest.approx(0.9)


def test_hook_rejects_models_without_momentum():
    with pytest.raises(AttributeError, match='momentum'):
        MomentumScheduleHook().before_train_iter(
            SimpleNamespace(model=nn.Linear(1, 1), iter=0, max_iters=1), 0)
