"""PixPro and PixContrast: loss keys, gradients, momentum update, instance branch, prefixes."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement

from mmdense.models.algorithms import PixContrast, PixPro
from mmdense.models.losses import pixel_consistency_loss
from mmdense.models.utils import stack_view_boxes

BACKBONE = dict(type='mmdet.ResNet', depth=18, base_channels=8, out_indices=(3, ),
                norm_cfg=dict(type='BN'), norm_eval=False)
NECK = dict(type='MLP2dNeck', in_channels=64, hid_channels=32, out_channels=16)
PPM = dict(type='PixelPropagationModule', in_channels=16, gamma=2.0, num_transform_layers=1)


def make_batch(n=4, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    views = [torch.randn(n, 3, size, size, generator=g) for _ in range(2)]
    boxes = torch.tensor([[[0., 0., 1., 1.], [1., 0., 0., 1.]],
                          [[0., 0., .6, .6], [.2, .2, .8, .8]],
                          [[.1, .1, .9, .9], [.1, .1, .9, .9]],
                          [[0., 0., .5, 1.], [.5, 0., 1., 1.]]])[:n]
    samples = [BaseDataElement(view_boxes=b) for b in boxes]
    return views, samples


def build_pixpro(**kwargs):
    torch.manual_seed(0)
    model = PixPro(backbone=BACKBONE, neck=NECK, ppm=PPM, **kwargs)
    model.init_weights()
    return model


def test_stack_view_boxes_batches_per_view():
    _, samples = make_batch()
    boxes = stack_view_boxes(samples, 2)
    assert len(boxes) == 2 and boxes[0].shape == (4, 4)
    assert boxes[1][0].tolist() == [1., 0., 0., 1.]
    with pytest.raises(ValueError, match='RandomResizedCropWithBox'):
        stack_view_boxes([BaseDataElement()], 2)


def test_pixpro_loss_is_symmetric_pixel_consistency():
    model = build_pixpro(momentum=1.0)  # frozen momentum nets: targets are reproducible
    views, samples = make_batch()
    losses = model.loss(views, samples)
    assert set(losses) == {'loss_pixpro'}
    coords = stack_view_boxes(samples, 2)
    with torch.no_grad():
        feats = [model.backbone(v)[-1] for v in views]
        preds = [model.ppm(model.neck(f)) for f in feats]
        targets = [model.momentum_neck(model.momentum_backbone(v)) for v in views]
        expected = (pixel_consistency_loss(preds[0], targets[1], coords[0], coords[1], 0.7) +
                    pixel_consistency_loss(preds[1], targets[0], coords[1], coords[0], 0.7))
    # BN in train mode uses batch statistics in both passes, so the values agree.
    assert losses['loss_pixpro'].item() == pytest.approx(expected.item(), rel=1e-5)


def test_online_gets_gradients_momentum_none_and_ema_update():
    model = build_pixpro(momentum=0.5)
    online_before = copy.deepcopy(model.backbone.state_dict())
    momentum_before = copy.deepcopy(model.momentum_backbone.state_dict())
    # Make the two encoders differ so the EMA is visible.
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(0.1)
    views, samples = make_batch()
    loss = sum(model.loss(views, samples).values())
    loss.backward()
    assert all(p.grad is not None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.ppm.parameters())
    assert all(p.grad is None and not p.requires_grad for p in model.momentum_backbone.parameters())
    name = 'layer4.1.conv2.weight'
    expected = 0.5 * momentum_before[name] + 0.5 * (online_before[name] + 0.1)
    assert torch.allclose(model.momentum_backbone.state_dict()[name], expected, atol=1e-6)


def test_instance_branch_adds_weighted_byol_loss():
    model = build_pixpro(momentum=1.0, loss_instance_weight=0.5)
    views, samples = make_batch()
    losses = model.loss(views, samples)
    assert set(losses) == {'loss_pixpro', 'loss_instance'}
    with torch.no_grad():
        feats = [model.backbone(v)[-1] for v in views]
        online = [model.instance_predictor(model.instance_neck(f)).mean((2, 3)) for f in feats]
        keys = [model.momentum_instance_neck(model.momentum_backbone(v)[-1]).mean((2, 3))
                for v in views]
    online = [F.normalize(o, dim=1) for o in online]
    keys = [F.normalize(k, dim=1) for k in keys]
    cross = (online[0] * keys[1]).sum(1).mean() + (online[1] * keys[0]).sum(1).mean()
    expected = 0.5 * -2 * cross
    assert losses['loss_instance'].item() == pytest.approx(expected.item(), rel=1e-5)
    prefixes = {k.split('.', 1)[0] for k in model.state_dict()}
    assert prefixes == {'backbone', 'neck', 'ppm', 'momentum_backbone', 'momentum_neck',
                        'instance_neck', 'instance_predictor', 'momentum_instance_neck'}
    # The momentum copies start equal to the online networks.
    sd = model.state_dict()
    assert all(torch.equal(sd[k], sd['momentum_' + k])
               for k in sd if k.startswith('instance_neck.'))


def test_pixcontrast_loss_gradients_and_prefixes():
    torch.manual_seed(0)
    model = PixContrast(backbone=BACKBONE, neck=NECK,
                        loss=dict(type='PixContrastLoss', temperature=0.3))
    model.init_weights()
    views, samples = make_batch()
    losses = model.loss(views, samples)
    assert set(losses) == {'loss_pixcontrast'} and losses['loss_pixcontrast'] > 0
    losses['loss_pixcontrast'].backward()
    assert all(p.grad is not None for p in model.neck.parameters())
    assert all(p.grad is None for p in model.momentum_neck.parameters())
    assert {k.split('.', 1)[0] for k in model.state_dict()} == {
        'backbone', 'neck', 'momentum_backbone', 'momentum_neck'}


def test_missing_boxes_and_bad_momentum_raise():
    model = build_pixpro()
    views, _ = make_batch()
    with pytest.raises(ValueError, match='view boxes missing'):
        model.loss(views, [BaseDataElement() for _ in range(4)])
    with pytest.raises(ValueError, match='momentum'):
        PixPro(backbone=BACKBONE, neck=NECK, ppm=PPM, momentum=1.5)


def test_step_benchmark_boxes_drive_pixpro():
    from mmdense.analysis.step_benchmark import _synthetic_view_boxes
    samples = _synthetic_view_boxes(4, seed=0)
    boxes = torch.stack([s.view_boxes for s in samples])  # (N, 2, 4)
    assert boxes.min() >= 0 and boxes.max() <= 1
    # Every other key view is flipped (x1 > x2), the others are not.
    assert ((boxes[:, 1, 0] > boxes[:, 1, 2]) == torch.tensor([False, True, False, True])).all()
    model = build_pixpro()
    views, _ = make_batch()
    assert torch.isfinite(model.loss(views, samples)['loss_pixpro'])
