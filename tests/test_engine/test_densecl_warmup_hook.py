from types import SimpleNamespace

import pytest
import torch.nn as nn

from mmdense.engine import DenseCLWarmupHook


class _Model(nn.Module):
    loss_lambda = 0.5


def _runner(model, it):
    return SimpleNamespace(model=model, iter=it)


def test_warmup_holds_dense_weight_at_zero_then_restores():
    model = _Model()
    hook = DenseCLWarmupHook(start_iters=3)
    hook.before_train(_runner(model, 0))
    seen = []
    for it in range(5):
        hook.before_train_iter(_runner(model, it), batch_idx=it)
        seen.append(model.loss_lambda)
    assert seen == [0.0, 0.0, 0.0, 0.5, 0.5]


def test_warmup_state_follows_iteration_on_resume():
    model = _Model()
    hook = DenseCLWarmupHook(start_iters=1000, loss_lambda=0.3)
    hook.before_train(_runner(model, 1200))
    hook.before_train_iter(_runner(model, 1200), batch_idx=0)
    assert model.loss_lambda == 0.3


def test_warmup_rejects_models_without_loss_lambda():
    with pytest.raises(TypeError, match='loss_lambda'):
        DenseCLWarmupHook().before_train(_runner(nn.Linear(1, 1), 0))
