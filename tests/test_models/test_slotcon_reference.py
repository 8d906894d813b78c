"""SlotCon from the shipped demo config against an independent re-statement of the authors'
forward pass, in float64.

No installable package has SlotCon, so the reference is written here from the paper
(Wen et al., NeurIPS 2022) and the behaviour of the authors' public code (CVMI-Lab/SlotCon,
``models/slotcon.py``, ``data/transforms.py``): torchvision's ResNet-50 trunk; 1x1-conv
projector conv-BN-GELU x2 + conv; prototypes as an embedding, cosine scores, attention
``softmax(cos / 0.07) + 1e-6`` normalised over pixels; crops described as the authors do,
``(i, j, h, w)`` in original pixels plus a flip flag, the overlap clipped into each crop's
[0, 1] frame, ``x -> 1 - x`` for a flipped crop, RoIAlign of the flipped map, then flipped
back; distillation ``-softmax((t - c) / 0.07) . log_softmax(s / 0.1)``; slot masks by
scattering the argmax; InfoNCE on the predicted common slots, x 2T; centre EMA over the
teacher's raw scores; teacher EMA before its forward with
``1 - (1 - m0) (cos(pi k / K) + 1) / 2``. The demo config differs from the R50 ones only in
widths, depth and the number of prototypes (checked below), so it stands for them here at a
CPU test's cost (the R50 model in float64 takes minutes on two cores). Our model instead
reads normalised view boxes whose corners swap on a flip, as our transforms record them. The
trunk keys of torchvision's and mmdet's ResNet coincide.

Two SGD steps (64 px views, 2x2 C5 maps) are compared: losses, every online gradient (and
no gradient anywhere else), parameters and the centre after each step.
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
BATCH, SIZE, STEPS, TOTAL_STEPS, LR = 4, 64, 2, 10, 0.05
IMAGE_H, IMAGE_W = 256, 512  # original image size of the crop windows below
CONFIG = 'configs/slotcon/slotcon_r18_demo.py'
R50_CONFIGS = ('configs/slotcon/slotcon_r50_8xb64-lars-800e_coco.py',
               'configs/slotcon/slotcon_r50_8xb64-lars-200e_in1k.py')


def c5(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))


def head(cin: int, hidden: int, cout: int, conv: bool) -> nn.Sequential:
    lin = (lambda a, b: nn.Conv2d(a, b, 1)) if conv else nn.Linear
    bn = nn.BatchNorm2d if conv else nn.BatchNorm1d
    return nn.Sequential(lin(cin, hidden), bn(hidden), nn.GELU(), lin(hidden, hidden), bn(hidden),
                         nn.GELU(), lin(hidden, cout))


class Grouping(nn.Module):

    def __init__(self, k: int, d: int, temp: float):
        super().__init__()
        self.slot_embed = nn.Embedding(k, d)
        self.temp = temp

    def forward(self, x):
        n = x.shape[0]
        slots = self.slot_embed.weight[None].repeat(n, 1, 1)
        dots = torch.einsum('bkd,bdhw->bkhw', F.normalize(slots, dim=2), F.normalize(x, dim=1))
        attn = (dots / self.temp).softmax(dim=1) + 1e-6
        return torch.einsum('bdhw,bkhw->bkd', x, attn / attn.sum(dim=(2, 3), keepdim=True)), dots


class ReferenceSlotCon(nn.Module):
    """The authors' SlotCon forward, re-stated (single process)."""

    def __init__(self, depth, widths, k, m0, total_steps, t_s=0.1, t_t=0.07, tau=0.2, w=0.5,
                 c_m=0.9):
        super().__init__()
        self.m0, self.k, self.K = m0, 0, total_steps
        self.t_s, self.t_t, self.tau, self.w, self.c_m = t_s, t_t, tau, w, c_m
        (c, hid, out), pred_hid = widths
        resnet = getattr(torchvision.models, f'resnet{depth}')
        self.encoder_q, self.encoder_k = (resnet() for _ in range(2))
        for net in (self.encoder_q, self.encoder_k):
            net.fc = nn.Identity()
        self.projector_q, self.projector_k = (head(c, hid, out, True) for _ in range(2))
        self.grouping_q, self.grouping_k = (Grouping(k, out, t_t) for _ in range(2))
        self.predictor_slot = head(out, pred_hid, out, False)
        self.register_buffer('center', torch.zeros(1, k))
        for net in (self.encoder_k, self.projector_k, self.grouping_k):
            net.requires_grad_(False)

    @staticmethod
    def invaug(x, coords, flags):
        n, _, h, w = x.shape
        c = coords.clone()
        c[:, [0, 2]] *= w
        c[:, [1, 3]] *= h
        rois = torch.cat([torch.arange(n, dtype=x.dtype)[:, None], c], 1)
        out = torchvision.ops.roi_align(x, rois, (h, w), aligned=True)
        return torch.stack([f.flip(-1) if flag else f for f, flag in zip(out, flags)])

    def distill(self, q, k):
        q = F.log_softmax(q / self.t_s, dim=-1)
        k = F.softmax((k - self.center) / self.t_t, dim=-1)
        return torch.sum(-k * q, dim=-1).mean()

    def ctr(self, q, k, score_q, score_k):
        q, k = q.flatten(0, 1), F.normalize(k.flatten(0, 1), dim=1)

        def mask(s):
            one_hot = torch.zeros_like(s).scatter_(1, s.argmax(1, keepdim=True), 1)
            return (one_hot.sum(-1).sum(-1) > 0).long()

        mask_k = mask(score_k).view(-1)
        idxs_q = (mask(score_q).view(-1) * mask_k).nonzero().squeeze(-1)
        idxs_k = mask_k.nonzero().squeeze(-1)
        logits = F.normalize(self.predictor_slot(q[idxs_q]), dim=1) @ k[idxs_k].t() / self.tau
        return F.cross_entropy(logits, mask_k.cumsum(0)[idxs_q] - 1) * (2 * self.tau)

    def forward(self, crops, coords, flags):
        x = [self.projector_q(c5(self.encoder_q, c)) for c in crops]
        with torch.no_grad():
            m = 1 - (1 - self.m0) * (math.cos(math.pi * self.k / self.K) + 1) / 2
            self.k += 1
            for a, b in ((self.encoder_q, self.encoder_k), (self.projector_q, self.projector_k),
                         (self.grouping_q, self.grouping_k)):
                for p_q, p_k in zip(a.parameters(), b.parameters()):
                    p_k.copy_(p_k * m + p_q * (1 - m))
            y = [self.projector_k(c5(self.encoder_k, c)) for c in crops]
        (q1, sq1), (q2, sq2) = (self.grouping_q(v) for v in x)
        a_q = [self.invaug(s, coords[i], flags[i]) for i, s in enumerate((sq1, sq2))]
        with torch.no_grad():
            (k1, sk1), (k2, sk2) = (self.grouping_k(v) for v in y)
            a_k = [self.invaug(s, coords[i], flags[i]) for i, s in enumerate((sk1, sk2))]
        rows = lambda t: t.permute(0, 2, 3, 1).flatten(0, 2)  # noqa: E731
        loss = self.w * (self.distill(rows(a_q[0]), rows(a_k[1])) +
                         self.distill(rows(a_q[1]), rows(a_k[0])))
        with torch.no_grad():
            teacher = rows(torch.cat([sk1, sk2]))
            self.center.copy_(self.center * self.c_m +
                              teacher.sum(0, keepdim=True) / len(teacher) * (1 - self.c_m))
        return loss + (1 - self.w) * (self.ctr(q1, k2, sq1, sk2) + self.ctr(q2, k1, sq2, sk1))


PREFIXES = (('momentum_backbone.', 'encoder_k.'), ('backbone.', 'encoder_q.'),
            ('momentum_neck.mlp.', 'projector_k.'), ('neck.mlp.', 'projector_q.'),
            ('momentum_grouping.prototypes.', 'grouping_k.slot_embed.'),
            ('grouping.prototypes.', 'grouping_q.slot_embed.'),
            ('predictor.mlp.', 'predictor_slot.'), ('center', 'center'))


def reference_key(key: str) -> str:
    for ours, ref in PREFIXES:
        if key.startswith(ours):
            return ref + key[len(ours):]
    raise KeyError(key)


def crops(step: int):
    """Crop windows as the authors sample them, ``(i, j, h, w)``, overlapping, random flips.

    The original image is 256 x 512, so every normalised corner is exact in float32 (our
    data samples carry float32 boxes).
    """
    g = torch.Generator().manual_seed(100 + step)
    params, flags = [], []
    for _ in range(2):
        h = torch.randint(120, 200, (BATCH, ), generator=g)
        w = torch.randint(250, 400, (BATCH, ), generator=g)
        i = (torch.rand(BATCH, generator=g) * (IMAGE_H - h)).long()
        j = (torch.rand(BATCH, generator=g) * (IMAGE_W - w)).long()
        params.append(torch.stack([i, j, h, w], 1))
        flags.append(torch.rand(BATCH, generator=g) < 0.5)
    return params, flags


def authors_coords(params, flags):
    """The authors' ``_clip_coords`` and ``CustomRandomHorizontalFlip`` on each image."""
    out = [[], []]
    for b in range(BATCH):
        (i1, j1, h1, w1), (i2, j2, h2, w2) = (p[b].double() for p in params)
        x1, y1 = torch.max(j1, j2), torch.max(i1, i2)
        x2, y2 = torch.min(j1 + w1, j2 + w2), torch.min(i1 + h1, i2 + h2)
        for v, (i, j, h, w) in enumerate(((i1, j1, h1, w1), (i2, j2, h2, w2))):
            c = torch.stack([(x1 - j) / w, (y1 - i) / h, (x2 - j) / w, (y2 - i) / h])
            if flags[v][b]:
                c = torch.stack([1 - c[2], c[1], 1 - c[0], c[3]])
            out[v].append(c)
    return [torch.stack(o) for o in out]


def our_samples(params, flags):
    """The view boxes our crop and flip transforms record for those windows."""
    boxes = []
    for p, f in zip(params, flags):
        i, j, h, w = p.double().unbind(1)
        box = torch.stack([j / IMAGE_W, i / IMAGE_H, (j + w) / IMAGE_W, (i + h) / IMAGE_H], 1)
        box[f] = box[f][:, [2, 1, 0, 3]]
        boxes.append(box.float())
    return [BaseDataElement(view_boxes=torch.stack([boxes[0][b], boxes[1][b]]))
            for b in range(BATCH)]


def build_pair():
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    torch.manual_seed(0)
    ours = MODELS.build(cfg.model)
    ours.init_weights()
    m = cfg.model
    widths = ((m.neck.in_channels, m.neck.hid_channels, m.neck.out_channels),
              m.predictor.hid_channels)
    ref = ReferenceSlotCon(m.backbone.depth, widths, m.grouping.num_prototypes, m.momentum,
                           TOTAL_STEPS,
                           m.group_loss.student_temp, m.group_loss.teacher_temp,
                           m.loss.temperature, m.group_loss_weight, m.center_momentum)
    state = {reference_key(k): v for k, v in ours.state_dict().items()}
    missing, unexpected = ref.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return ours.double().train(), ref.double().train(), cfg


@pytest.fixture(scope='module')
def pair():
    return build_pair()


def test_shipped_demo_config_trains_like_the_authors_forward(pair):
    ours, ref, cfg = pair
    assert any(h['type'] == 'MomentumScheduleHook' for h in cfg.custom_hooks)
    hook = MomentumScheduleHook()
    online = [p for p in ours.parameters() if p.requires_grad]
    opt_ours = torch.optim.SGD(online, lr=LR, momentum=0.9)
    ref_params = dict(ref.named_parameters())
    names = [reference_key(k) for k, p in ours.named_parameters() if p.requires_grad]
    opt_ref = torch.optim.SGD([ref_params[k] for k in names], lr=LR, momentum=0.9)
    for step in range(STEPS):
        g = torch.Generator().manual_seed(step)
        # Two views of related content, so that many prototypes win pixels in both.
        first = torch.randn(BATCH, 3, SIZE, SIZE, generator=g, dtype=torch.float64)
        views = [first, first + 0.3 * torch.randn(first.shape, generator=g, dtype=first.dtype)]
        params, flags = crops(step)
        hook.before_train_iter(SimpleNamespace(model=ours, iter=step, max_iters=TOTAL_STEPS), step)
        losses = ours.loss([v.clone() for v in views], our_samples(params, flags))
        loss_ref = ref([v.clone() for v in views], authors_coords(params, flags), flags)
        loss = sum(losses.values())
        torch.testing.assert_close(loss, loss_ref, rtol=1e-9, atol=1e-11,
                                   msg=lambda m: f'step {step} loss: {m}')
        torch.testing.assert_close(ours.center, ref.center, rtol=1e-9, atol=1e-12)
        loss.backward()
        loss_ref.backward()
        for key, param in ours.named_parameters():
            other = ref_params[reference_key(key)]
            if not param.requires_grad:
                assert param.grad is None and other.grad is None, key
                continue
            assert param.grad is not None and other.grad is not None, key
            torch.testing.assert_close(param.grad, other.grad, rtol=1e-7, atol=1e-11,
                                       msg=lambda m: f'step {step} grad {key}: {m}')
        # The student's prototypes learn from both losses; the teacher's only by EMA.
        assert ours.grouping.prototypes.weight.grad.abs().sum() > 0
        assert ours.momentum_grouping.prototypes.weight.grad is None
        assert ours.predictor.mlp[0].weight.grad.abs().sum() > 0
        opt_ours.step()
        opt_ref.step()
        opt_ours.zero_grad()
        opt_ref.zero_grad()
        for key, param in ours.named_parameters():
            torch.testing.assert_close(param, ref_params[reference_key(key)], rtol=1e-8,
                                       atol=1e-11, msg=lambda m: f'after step {step} {key}: {m}')
    assert set(n for n, p in ours.named_parameters() if not p.requires_grad) == {
        n for n, _ in ours.named_parameters() if n.startswith('momentum_')}


def test_demo_config_is_the_r50_recipe_scaled_down():
    """What the demo stands for: the R50 configs differ only in depth, widths and prototypes."""
    demo = Config.fromfile(osp.join(ROOT, CONFIG)).model
    for path in R50_CONFIGS:
        r50 = Config.fromfile(osp.join(ROOT, path)).model
        assert (r50.backbone.depth, r50.neck.in_channels, r50.neck.hid_channels,
                r50.neck.out_channels, r50.neck.num_layers) == (50, 2048, 4096, 256, 3)
        assert (r50.predictor.in_channels, r50.predictor.hid_channels,
                r50.predictor.out_channels, r50.predictor.num_layers) == (256, 4096, 256, 3)
        assert r50.grouping.num_prototypes == (2048 if 'in1k' in path else 256)
        for key in ('type', 'momentum', 'group_loss_weight', 'center_momentum', 'loss',
                    'group_loss'):
            assert r50[key] == demo[key], key
        assert (r50.grouping.temperature, r50.group_loss.student_temp,
                r50.group_loss.teacher_temp, r50.loss.temperature) == (0.07, 0.1, 0.07, 0.2)
