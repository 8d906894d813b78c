import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.models import DenseCL, MoCoV2
from mmdense.registry import MODELS

T = 0.2


@MODELS.register_module(force=True)
class _IdentityBackbone(nn.Module):
    """Returns the image itself as the 'C5 map': makes the hand computation exact."""

    def forward(self, x):
        return (x, )


def _tiny_resnet():
    return dict(type='mmdet.ResNet', depth=18, base_channels=8, out_indices=(3, ),
                norm_eval=False, zero_init_residual=False)


def _infonce(pos: float, negs) -> float:
    denom = math.exp(pos / T) + sum(math.exp(n / T) for n in negs)
    return -math.log(math.exp(pos / T) / denom)


def _unit(v):
    return v / v.norm()


def _densecl(backbone=None, in_channels=3, queue_len=6, loss_lambda=0.5):
    model = DenseCL(
        backbone=backbone or dict(type='_IdentityBackbone'),
        neck=dict(type='DenseCLNeck', in_channels=in_channels, hid_channels=8, out_channels=4),
        loss=dict(type='InfoNCELoss', temperature=T),
        queue_len=queue_len, feat_dim=4, momentum=0.99, loss_lambda=loss_lambda)
    model.init_weights()
    return model


def _views(seed, channels=3, size=2, batch=2):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, channels, size, size, generator=g) for _ in range(2)]


def test_densecl_loss_matches_hand_computation():
    torch.manual_seed(0)
    model = _densecl().double()
    neck = model.neck
    # Pick inputs where matching by projections would pick other key cells than
    # matching by backbone features, so the test tells the two apart.
    for seed in range(100):
        im_q, im_k = [v.double() for v in _views(seed)]
        proj_match = (F.normalize(neck((im_q, ))[1], dim=1).transpose(1, 2)
                      @ F.normalize(neck((im_k, ))[1], dim=1)).argmax(dim=2)
        feat_match = (F.normalize(im_q.flatten(2), dim=1).transpose(1, 2)
                      @ F.normalize(im_k.flatten(2), dim=1)).argmax(dim=2)
        if not torch.equal(proj_match, feat_match):
            break
    else:
        pytest.fail('no discriminative input found')
    queue = model.queue.feats.clone()
    dense_queue = model.dense_queue.feats.clone()

    with torch.no_grad():
        q_glob, q_dense, _ = neck((im_q, ))
        k_glob, k_dense, k_pooled = neck((im_k, ))  # key encoder == online one at start
    expected_single, expected_dense, cells = 0.0, 0.0, 0
    for n in range(2):
        q, k = _unit(q_glob[n]), _unit(k_glob[n])
        expected_single += _infonce(float(q @ k), (queue @ q).tolist())
        for i in range(4):
            qb = _unit(im_q[n].flatten(1)[:, i])
            sims = [float(qb @ _unit(im_k[n].flatten(1)[:, j])) for j in range(4)]
            j_star = max(range(4), key=lambda j: sims[j])
            qd = _unit(q_dense[n, :, i])
            expected_dense += _infonce(float(qd @ _unit(k_dense[n, :, j_star])),
                                       (dense_queue @ qd).tolist())
            cells += 1
    losses = model.loss([im_q, im_k])
    assert set(losses) == {'loss_single', 'loss_dense'}
    assert losses['loss_single'].item() == pytest.approx(0.5 * expected_single / 2, rel=1e-9)
    assert losses['loss_dense'].item() == pytest.approx(0.5 * expected_dense / cells, rel=1e-9)
    # Both queues received this batch's normalised keys at their pointer.
    assert torch.allclose(model.queue.feats[:2], F.normalize(k_glob, dim=1))
    assert torch.allclose(model.dense_queue.feats[:2], F.normalize(k_pooled, dim=1))
    assert torch.equal(model.queue.feats[2:], queue[2:])


def test_densecl_loss_lambda_weights_the_two_terms():
    torch.manual_seed(0)
    model = _densecl(loss_lambda=0.0).double()
    views = [v.double() for v in _views(1)]
    # state_dict() holds references to the buffers, which enqueue overwrites: copy them.
    queues = [{
        k: v.clone()
        for k, v in q.state_dict().items()
    } for q in (model.queue, model.dense_queue)]
    off = model.loss(views)
    assert off['loss_dense'].item() == 0.0
    model.queue.load_state_dict(queues[0])
    model.dense_queue.load_state_dict(queues[1])
    model.loss_lambda = 0.25
    on = model.loss(views)
    assert on['loss_single'].item() == pytest.approx(0.75 * off['loss_single'].item(), rel=1e-9)
    assert on['loss_dense'].item() > 0


def test_mocov2_loss_matches_hand_computation():
    torch.manual_seed(0)
    model = MoCoV2(
        backbone=dict(type='_IdentityBackbone'),
        neck=dict(type='MoCoV2Neck', in_channels=3, hid_channels=8, out_channels=4),
        loss=dict(type='InfoNCELoss', temperature=T), queue_len=6, feat_dim=4).double()
    model.init_weights()
    im_q, im_k = [v.double() for v in _views(3)]
    queue = model.queue.feats.clone()
    with torch.no_grad():
        q_all, k_all = model.neck((im_q, ))[0], model.neck((im_k, ))[0]
    expected = sum(
        _infonce(float(_unit(q) @ _unit(k)), (queue @ _unit(q)).tolist())
        for q, k in zip(q_all, k_all)) / 2
    losses = model.loss([im_q, im_k])
    assert set(losses) == {'loss'}
    assert losses['loss'].item() == pytest.approx(expected, rel=1e-9)


def test_densecl_gradients_reach_online_encoder_only():
    torch.manual_seed(0)
    model = _densecl(backbone=_tiny_resnet(), in_channels=64, queue_len=8)
    model.train()
    losses = model.loss(_views(0, size=64, batch=4))
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.neck.parameters())
    momentum_params = list(model.momentum_backbone.parameters()) + list(
        model.momentum_neck.parameters())
    assert all(p.grad is None and not p.requires_grad for p in momentum_params)
    assert not model.queue.feats.requires_grad and not model.dense_queue.feats.requires_grad


def test_key_encoder_starts_as_copy_and_follows_ema():
    torch.manual_seed(0)
    model = _densecl(backbone=_tiny_resnet(), in_channels=64, queue_len=8)
    for q, k in zip(model.backbone.state_dict().values(),
                    model.momentum_backbone.state_dict().values()):
        assert torch.equal(q, k)
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    before = [p.clone() for p in model.momentum_backbone.parameters()]
    model.loss(_views(0, size=64, batch=4))
    for b, q, k in zip(before, model.backbone.parameters(), model.momentum_backbone.parameters()):
        assert torch.allclose(k, 0.99 * b + 0.01 * q, atol=1e-6)


def test_clear_errors_for_bad_views_and_modes():
    model = _densecl()
    with pytest.raises(ValueError, match='MultiView'):
        model.loss([torch.randn(2, 3, 2, 2)])
    with pytest.raises(ValueError, match='different batch sizes'):
        model.loss([torch.randn(2, 3, 2, 2), torch.randn(3, 3, 2, 2)])
    with pytest.raises(ValueError, match='"loss" and "tensor"'):
        model(torch.randn(2, 3, 2, 2), mode='predict')
    with pytest.raises(ValueError, match='loss_lambda'):
        _densecl(loss_lambda=1.5)
    with pytest.raises(ValueError, match='feat_dim=8 must equal'):
        MoCoV2(backbone=dict(type='_IdentityBackbone'),
               neck=dict(type='MoCoV2Neck', in_channels=3, hid_channels=8, out_channels=4),
               loss=dict(type='InfoNCELoss'), queue_len=6, feat_dim=8)


def test_extract_feat_returns_backbone_c5():
    model = _densecl(backbone=_tiny_resnet(), in_channels=64, queue_len=8).eval()
    (c5, ) = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert c5.shape == (1, 64, 2, 2)


def test_momentum_base_copies_updates_and_checks_every_momentum_part():
    """BaseMomentumSelfSupervisor: the one place momentum copies are built, started and updated."""
    from mmdense.models.algorithms import BaseMomentumSelfSupervisor

    class _TwoParts(BaseMomentumSelfSupervisor):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.extra = nn.Linear(3, 2)
            self.add_momentum_copy('extra')

    torch.manual_seed(0)
    neck = dict(type='MoCoV2Neck', in_channels=64, hid_channels=8, out_channels=4)
    model = _TwoParts(backbone=_tiny_resnet(), neck=neck, momentum=0.9)
    model.init_weights()
    names = [type(online).__name__ for online, _ in model.momentum_pairs()]
    assert names == ['ResNet', 'MoCoV2Neck', 'Linear']
    for online, copy in model.momentum_pairs():
        assert all(torch.equal(a, b) for a, b in zip(online.state_dict().values(),
                                                     copy.state_dict().values()))
        assert not any(p.requires_grad for p in copy.parameters())
    with torch.no_grad():
        model.extra.weight.add_(1.0)
    before = model.momentum_extra.weight.clone()
    model.momentum = 0.5  # what MomentumScheduleHook sets; base_momentum keeps the start
    model.update_momentum()
    assert model.base_momentum == 0.9
    assert torch.allclose(model.momentum_extra.weight, 0.5 * before + 0.5 * model.extra.weight)
    with pytest.raises(ValueError, match=r'_TwoParts: momentum must lie in \[0, 1\]'):
        _TwoParts(backbone=_tiny_resnet(), momentum=1.5)
