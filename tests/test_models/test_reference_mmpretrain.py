"""MoCo v2 and DenseCL from the shipped R50 configs against mmpretrain 1.2.0's own models.

Both sides are built from their packages' shipped configs (``configs/*/..._r50_...py`` and
``mmpretrain::...``), get the same weights and queues, and are then trained side by side:
losses, every gradient, five SGD steps (the optimiser of each package's config), the
momentum encoders and both queues must agree (see ``tolerance``).
float64 throughout: in float32 a rounding difference flips one argmax of DenseCL's
correspondence after a few steps and the runs part for that reason alone.

Known difference, left out of the comparison: mmengine's ``ExponentialMovingAverage``
(mmpretrain's key encoder) copies the online encoder's BN running statistics into the
key encoder at every update, whereas the MoCo/DenseCL reference and mmdense let the key
encoder keep its own. Both encoders normalise with batch statistics in training, so the
losses do not depend on it.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmdense.analysis.mmpretrain_models import build_mmpretrain_model, mmpretrain_config
from mmdense.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUEUE_LEN, BATCH, SIZE, STEPS = 16, 4, 128, 5
CASES = {
    'mocov2': ('configs/mocov2/mocov2_r50_8xb32-coslr-200e_in1k.py',
               'mmpretrain::mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'),
    'densecl': ('configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py',
                'mmpretrain::densecl/densecl_resnet50_8xb32-coslr-200e_in1k.py'),
}


def build_pair(name: str, **model_overrides):
    """Our model and mmpretrain's, each from its shipped config, with our weights in both."""
    ours_cfg = Config.fromfile(osp.join(ROOT, CASES[name][0]))
    theirs_cfg = mmpretrain_config(CASES[name][1])
    for cfg in (ours_cfg, theirs_cfg):
        cfg.model.queue_len = QUEUE_LEN
    ours_cfg.model.update(model_overrides)
    torch.manual_seed(0)
    ours = MODELS.build(ours_cfg.model)
    ours.init_weights()
    theirs = build_mmpretrain_model(theirs_cfg.model)
    ours.double().train()
    theirs.double().train()
    missing, unexpected = theirs.load_state_dict(to_mmpretrain(ours.state_dict()), strict=False)
    # The key encoder's EMA step counter is mmpretrain's own; nothing else may be missing.
    assert set(missing) == {'encoder_k.steps'} and not unexpected, (missing, unexpected)
    return ours, theirs, ours_cfg, theirs_cfg


def to_mmpretrain(state: dict) -> dict:
    """Our state dict in mmpretrain's names (queues are stored transposed there)."""
    out = {}
    for key, value in state.items():
        key = key.replace('neck.dense_mlp.', 'neck.mlp2.')
        if key.startswith('momentum_backbone.'):
            key = 'encoder_k.module.0.' + key[len('momentum_backbone.'):]
        elif key.startswith('momentum_neck.'):
            key = 'encoder_k.module.1.' + key[len('momentum_neck.'):]
        elif key == 'queue.feats':
            key, value = 'queue', value.t()
        elif key == 'queue.ptr':
            key = 'queue_ptr'
        elif key == 'dense_queue.feats':
            key, value = 'queue2', value.t()
        elif key == 'dense_queue.ptr':
            key = 'queue2_ptr'
        out[key] = value
    return out


def online_params(model, theirs: bool):
    return {k.replace('neck.mlp2.', 'neck.dense_mlp.') if theirs else k: p
            for k, p in model.named_parameters() if p.requires_grad}


def momentum_params(ours, theirs):
    mine = {k: p for k, p in ours.named_parameters() if k.startswith('momentum_')}
    other = dict(theirs.named_parameters())
    return [(k, p, other[to_key(k)]) for k, p in mine.items()]


def to_key(key: str) -> str:
    return next(iter(to_mmpretrain({key: torch.zeros(1)})))


def tolerance(step: int) -> float:
    """Relative tolerance at ``step``: 1e-10 at the first, ten times more per step after.

    In float64 the two implementations agree to about 1e-14 at the first step; SGD on a
    fresh network with batch-4 BN then amplifies rounding up to tenfold per step (measured:
    1e-7 in the stem's gradient at step 5). A modelling difference (BN in eval mode,
    another correspondence, another queue) shows as 1e-3 or more from the first step.
    """
    return 1e-10 * 10**step


def assert_close(a, b, what, tol):
    """``||a - b|| / ||b|| <= tol``."""
    a, b = a.detach().double(), b.detach().double()
    assert a.shape == b.shape, f'{what}: shapes {tuple(a.shape)} vs {tuple(b.shape)}'
    diff, scale = (a - b).norm().item(), b.norm().item()
    assert diff <= tol * max(
        scale, 1e-12), f'{what}: relative difference {diff / max(scale, 1e-30):.2e} > {tol:.0e}'


def views(step: int):
    g = torch.Generator().manual_seed(100 + step)
    return [torch.randn(BATCH, 3, SIZE, SIZE, generator=g, dtype=torch.float64) for _ in range(2)]


@pytest.mark.parametrize('name', sorted(CASES))
def test_shipped_r50_config_trains_like_mmpretrain(name):
    ours, theirs, ours_cfg, theirs_cfg = build_pair(name)
    opt_ours = build_optim_wrapper(ours, ours_cfg.optim_wrapper)
    opt_theirs = build_optim_wrapper(theirs, theirs_cfg.optim_wrapper)
    assert type(opt_ours.optimizer) is type(opt_theirs.optimizer) is torch.optim.SGD
    for step in range(STEPS):
        inputs = views(step)
        losses_ours = ours.loss([v.clone() for v in inputs])
        losses_theirs = theirs.loss([v.clone() for v in inputs], [])
        assert set(losses_ours) == set(losses_theirs)
        for key in losses_ours:
            assert_close(losses_ours[key], losses_theirs[key], f'step {step} {key}',
                         tolerance(step))
        sum(losses_ours.values()).backward()
        sum(losses_theirs.values()).backward()
        grads_theirs = {k: p.grad for k, p in online_params(theirs, True).items()}
        grads_ours = online_params(ours, False)
        assert set(grads_ours) == set(grads_theirs)
        for key, param in grads_ours.items():
            assert param.grad is not None, key
            assert_close(param.grad, grads_theirs[key], f'step {step} grad {key}', tolerance(step))
        opt_ours.step()
        opt_theirs.step()
        opt_ours.zero_grad()
        opt_theirs.zero_grad()

    theirs_params = online_params(theirs, True)
    for key, param in online_params(ours, False).items():
        assert_close(param, theirs_params[key], f'online {key} after {STEPS} steps',
                     tolerance(STEPS))
    for key, mine, other in momentum_params(ours, theirs):
        assert_close(mine, other, f'momentum {key} after {STEPS} steps', tolerance(STEPS))
    theirs_buffers = dict(theirs.named_buffers())
    for key, mine in ours.named_buffers():
        if key.startswith('backbone.') and 'running' in key:
            assert_close(mine, theirs_buffers[key], f'BN statistics {key}', tolerance(STEPS))
    assert_close(ours.queue.feats.t(), theirs.queue, 'queue', tolerance(STEPS))
    assert int(ours.queue.ptr) == int(theirs.queue_ptr) == STEPS * BATCH % QUEUE_LEN
    if name == 'densecl':
        assert_close(ours.dense_queue.feats.t(), theirs.queue2, 'dense queue', tolerance(STEPS))


def test_first_step_differs_when_bn_is_kept_in_eval_mode(monkeypatch):
    """The comparison sees the fault that shipped: BN in eval mode changes the losses."""
    ours, theirs, _, _ = build_pair('densecl')
    monkeypatch.setattr(type(ours), 'train', torch.nn.Module.train)  # bypass the refusal
    ours.backbone.norm_eval = True
    ours.momentum_backbone.norm_eval = True
    ours.train()
    inputs = views(0)
    loss_ours = ours.loss([v.clone() for v in inputs])['loss_dense']
    loss_theirs = theirs.loss([v.clone() for v in inputs], [])['loss_dense']
    assert not torch.allclose(loss_ours, loss_theirs, rtol=1e-3)
