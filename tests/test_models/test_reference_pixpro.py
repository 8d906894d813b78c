"""PixPro, PixPro + instance branch and PixContrast from the shipped R50 configs against an
independent re-statement of the authors' forward pass.

No installable package has PixPro, so the reference is written here from the paper
(arXiv 2011.10043) and the behaviour of the authors' public code (zdaxie/PixPro,
``contrast/models/PixPro.py``, ``contrast/resnet.py``): torchvision's ResNet-50 trunk,
conv1x1-BN-ReLU-conv1x1 projectors, pixel propagation with ``max(cos, 0) ** gamma``,
positives within 0.7 of the larger bin diagonal, ``-2 cos`` averaged over positive pairs
per image, both directions summed; momentum encoder and projector updated (parameters
only) after the online forward with ``1 - (1 - m0) (cos(pi k / K) + 1) / 2``. PixContrast
has no public code: its reference is the paper's Eq. (1) with negatives beyond the
reference's ``--pixpro-neg-ratio`` (1.0). The trunk keys of torchvision's and mmdet's
ResNet coincide, which is what makes the weights transferable.

Everything runs in float64 and three SGD steps are compared: losses, every online
gradient, the online and momentum parameters after each step.
"""
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from mmdense.engine.hooks import MomentumScheduleHook
from mmdense.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BATCH, SIZE, STEPS, TOTAL_STEPS, LR = 4, 96, 3, 10, 0.05
CONFIGS = {
    'pixpro': 'configs/pixpro/pixpro_r50_8xb128-lars-100e_in1k.py',
    'pixpro-ins': 'configs/pixpro/pixpro-ins_r50_8xb128-lars-100e_in1k.py',
    'pixcontrast': 'configs/pixcontrast/pixcontrast_r50_8xb128-lars-100e_in1k.py',
}


def trunk(depth: int) -> nn.Module:
    net = getattr(torchvision.models, f'resnet{depth}')()
    net.fc = nn.Identity()
    return net


def c5(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))


def mlp2d(cin: int, hidden: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
                         nn.Conv2d(hidden, cout, 1))


class ReferencePixPro(nn.Module):
    """The authors' PixPro / PixContrast forward, re-stated."""

    def __init__(self, kind: str, m0: float, gamma: float, pos_ratio: float, total_steps: int,
                 instance_weight: float = 0.0, temperature: float = 0.3, neg_ratio: float = 1.0):
        super().__init__()
        self.kind, self.m0, self.gamma, self.pos_ratio = kind, m0, gamma, pos_ratio
        self.instance_weight, self.temperature = instance_weight, temperature
        self.neg_ratio = neg_ratio
        self.k, self.K = 0, total_steps
        self.encoder, self.encoder_k = trunk(50), trunk(50)
        self.projector, self.projector_k = mlp2d(2048, 4096, 256), mlp2d(2048, 4096, 256)
        if kind == 'pixpro':
            self.value_transform = nn.Conv2d(256, 256, 1)
        if instance_weight > 0:
            self.projector_instance = mlp2d(2048, 4096, 256)
            self.projector_instance_k = mlp2d(2048, 4096, 256)
            self.predictor = mlp2d(256, 4096, 256)

    def pairs(self):
        yield self.encoder, self.encoder_k
        yield self.projector, self.projector_k
        if self.instance_weight > 0:
            yield self.projector_instance, self.projector_instance_k

    def propagate(self, x):
        n, c, h, w = x.shape
        value = F.normalize(self.value_transform(x), dim=1).view(n, c, h * w)
        unit = F.normalize(x, dim=1).view(n, c, h * w)
        sim = torch.einsum('nci,ncj->nij', unit, unit).clamp(min=0) ** self.gamma
        return torch.einsum('ncj,nij->nci', value, sim).view(n, c, h, w)

    @staticmethod
    def centres_and_diag(box, h, w):
        """Cell centres (N, h*w, 2) in the original image, and the bin diagonal (N,)."""
        bw, bh = (box[:, 2] - box[:, 0]) / w, (box[:, 3] - box[:, 1]) / h
        cols = torch.arange(w, dtype=box.dtype) + 0.5
        rows = torch.arange(h, dtype=box.dtype) + 0.5
        cx = box[:, 0, None, None] + cols[None, None, :] * bw[:, None, None]
        cy = box[:, 1, None, None] + rows[None, :, None] * bh[:, None, None]
        centres = torch.stack([cx.expand(-1, h, w), cy.expand(-1, h, w)], -1).reshape(-1, h * w, 2)
        return centres, torch.sqrt(bw ** 2 + bh ** 2)

    def distance(self, box_q, box_k, h, w):
        cq, dq = self.centres_and_diag(box_q, h, w)
        ck, dk = self.centres_and_diag(box_k, h, w)
        dist = torch.sqrt(((cq[:, :, None] - ck[:, None]) ** 2).sum(-1))
        return dist / torch.max(dq, dk)[:, None, None]

    def pixpro_loss(self, pred, target, box_q, box_k):
        n, c, h, w = pred.shape
        pos = (self.distance(box_q, box_k, h, w) < self.pos_ratio).double()
        cos = torch.einsum('nci,ncj->nij', F.normalize(pred, dim=1).view(n, c, -1),
                           F.normalize(target, dim=1).view(n, c, -1))
        return -2 * ((cos * pos).sum((1, 2)) / (pos.sum((1, 2)) + 1e-6)).mean()

    def pixcontrast_loss(self, q, k, box_q, box_k):
        n, c, h, w = q.shape
        dist = self.distance(box_q, box_k, h, w)
        logits = torch.einsum('nci,ncj->nij', F.normalize(q, dim=1).view(n, c, -1),
                              F.normalize(k, dim=1).view(n, c, -1)) / self.temperature
        terms = []
        for b in range(n):
            for i in range(h * w):
                pos = dist[b, i] < self.pos_ratio
                if not pos.any():
                    continue
                neg = dist[b, i] >= self.neg_ratio
                top = torch.exp(logits[b, i][pos]).sum()
                terms.append(-torch.log(top / (top + torch.exp(logits[b, i][neg]).sum())))
        return torch.stack(terms).mean()

    def forward(self, im1, im2, box1, box2):
        feats = [c5(self.encoder, im1), c5(self.encoder, im2)]
        projs = [self.projector(f) for f in feats]
        online = [self.propagate(p) for p in projs] if self.kind == 'pixpro' else projs
        if self.instance_weight > 0:
            inst = [F.normalize(self.predictor(self.projector_instance(f)).mean((2, 3)), dim=1)
                    for f in feats]
        with torch.no_grad():
            m = 1 - (1 - self.m0) * (math.cos(math.pi * self.k / self.K) + 1) / 2
            self.k += 1
            for q_net, k_net in self.pairs():
                for p_q, p_k in zip(q_net.parameters(), k_net.parameters()):
                    p_k.copy_(p_k * m + p_q * (1 - m))
            feats_k = [c5(self.encoder_k, im1), c5(self.encoder_k, im2)]
            targets = [self.projector_k(f) for f in feats_k]
            if self.instance_weight > 0:
                inst_k = [F.normalize(self.projector_instance_k(f).mean((2, 3)), dim=1)
                          for f in feats_k]
        loss_fn = self.pixpro_loss if self.kind == 'pixpro' else self.pixcontrast_loss
        loss = loss_fn(online[0], targets[1], box1, box2) + loss_fn(online[1], targets[0], box2,
                                                                    box1)
        if self.instance_weight > 0:
            loss = loss + self.instance_weight * (-2 * (inst[0] * inst_k[1]).sum(1).mean()
                                                  - 2 * (inst[1] * inst_k[0]).sum(1).mean())
        return loss


# Ours -> reference parameter names: trunk keys coincide; the projectors' Sequential is `mlp`.
PREFIXES = (('momentum_backbone.', 'encoder_k.'), ('backbone.', 'encoder.'),
            ('momentum_neck.mlp.', 'projector_k.'), ('neck.mlp.', 'projector.'),
            ('ppm.value_transform.', 'value_transform.'), ('momentum_instance_neck.mlp.',
                                                           'projector_instance_k.'),
            ('instance_neck.mlp.', 'projector_instance.'), ('instance_predictor.mlp.',
                                                            'predictor.'))


def reference_key(key: str) -> str:
    for ours, ref in PREFIXES:
        if key.startswith(ours):
            return ref + key[len(ours):]
    raise KeyError(key)


def build_pair(name: str):
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[name]))
    torch.manual_seed(0)
    ours = MODELS.build(cfg.model)
    ours.init_weights()
    m = cfg.model
    ref = ReferencePixPro(
        'pixcontrast' if m.type == 'PixContrast' else 'pixpro', m.momentum,
        m.get('ppm', {}).get('gamma', 2.0), m.loss.pos_ratio, TOTAL_STEPS,
        instance_weight=m.get('loss_instance_weight', 0.0),
        temperature=m.loss.get('temperature', 0.3), neg_ratio=m.loss.get('neg_ratio', 1.0))
    state = {reference_key(k): v for k, v in ours.state_dict().items()}
    missing, unexpected = ref.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return ours.double().train(), ref.double().train(), cfg


def batch(step: int):
    """Two views and overlapping view boxes, the second flipped (x1 > x2) for half the images.

    The boxes are random values rounded to float32 (the data samples carry float32 boxes), so
    both sides see the same numbers, and no cell distance lands exactly on a threshold, as
    dyadic boxes make them do (distance 1.0 against ``neg_ratio`` 1.0).
    """
    g = torch.Generator().manual_seed(step)
    views = [torch.randn(BATCH, 3, SIZE, SIZE, generator=g, dtype=torch.float64) for _ in range(2)]
    corner = torch.rand(BATCH, 2, generator=g) * 0.3
    size = 0.5 + torch.rand(BATCH, 2, generator=g) * 0.2
    shift = (torch.rand(BATCH, 2, generator=g) - 0.5) * 0.3
    box1 = torch.cat([corner, corner + size], dim=1)
    box2 = torch.cat([corner + shift, corner + shift + size], dim=1).clamp(0, 1)
    flip = torch.arange(BATCH) % 2 == 1
    box2[flip] = box2[flip][:, [2, 1, 0, 3]]
    box1, box2 = box1.float().double(), box2.float().double()
    samples = [
        BaseDataElement(view_boxes=torch.stack([b1, b2]).float()) for b1, b2 in zip(box1, box2)
    ]
    return views, samples, box1, box2


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_shipped_r50_config_trains_like_the_authors_forward(name):
    ours, ref, cfg = build_pair(name)
    assert any(
        isinstance(h, dict) and h['type'] == 'MomentumScheduleHook' for h in cfg.custom_hooks)
    hook = MomentumScheduleHook()
    opt_ours = torch.optim.SGD([p for p in ours.parameters() if p.requires_grad], lr=LR,
                               momentum=0.9)
    ref_online = {reference_key(k): p for k, p in ours.named_parameters() if p.requires_grad}
    ref_params = dict(ref.named_parameters())
    opt_ref = torch.optim.SGD([ref_params[k] for k in ref_online], lr=LR, momentum=0.9)
    for step in range(STEPS):
        views, samples, box1, box2 = batch(step)
        # As in training: the hook sets the EMA coefficient from the iteration index.
        hook.before_train_iter(SimpleNamespace(model=ours, iter=step, max_iters=TOTAL_STEPS), step)
        losses = ours.loss([v.clone() for v in views], samples)
        loss_ref = ref(views[0].clone(), views[1].clone(), box1, box2)
        loss = sum(losses.values())
        torch.testing.assert_close(loss, loss_ref, rtol=1e-9, atol=1e-11,
                                   msg=lambda m: f'step {step} loss: {m}')
        loss.backward()
        loss_ref.backward()
        for key, param in ours.named_parameters():
            other = ref_params[reference_key(key)]
            if not param.requires_grad:
                assert param.grad is None and other.grad is None, key
                continue
            assert param.grad is not None, key
            torch.testing.assert_close(param.grad, other.grad, rtol=1e-7, atol=1e-11,
                                       msg=lambda m: f'step {step} grad {key}: {m}')
        opt_ours.step()
        opt_ref.step()
        opt_ours.zero_grad()
        opt_ref.zero_grad()
        for key, param in ours.named_parameters():
            torch.testing.assert_close(param, ref_params[reference_key(key)], rtol=1e-8, atol=1e-11,
                                       msg=lambda m: f'after step {step} {key}: {m}')
