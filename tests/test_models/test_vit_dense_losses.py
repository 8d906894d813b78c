"""DenseCL and PixPro on ViT token maps (docs/vit.md): the shipped tiny-ViT demo configs' losses
against a re-statement of the authors' forward passes on the patch-token grid, in float64; the
token-grid conventions (global vector, correspondence, heads) by hand."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from mmdense.models.algorithms import DenseCL
from mmdense.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DENSECL = osp.join(ROOT, 'configs', 'densecl', 'densecl_vit-tiny-p8_demo.py')
PIXPRO = osp.join(ROOT, 'configs', 'pixpro', 'pixpro_vit-tiny-p8_demo.py')


def build(path: str, **model_overrides) -> torch.nn.Module:
    cfg = Config.fromfile(path)
    cfg.model.update(model_overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.double().train()


def views(n: int, size: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, size, size, generator=g, dtype=torch.float64) for _ in range(2)]


def tokens(backbone, image):
    """Patch tokens of the last block ``(N, h*w, C)`` (class token dropped), re-read."""
    grid = backbone(image)[-1]
    return grid.flatten(2).transpose(1, 2)


def infonce(q, pos, negatives, t):
    """-log softmax of the positive among [pos, q . negatives] / t, averaged."""
    logits = torch.cat([pos[:, None], q @ negatives.T], dim=1) / t
    return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()


def reference_densecl(model, im_q, im_k, queue, dense_queue, t=0.2, lam=0.5):
    """DenseCL's forward (WXinlong/DenseCL) with the ViT's patch tokens as the C5 cells."""
    q_tok, k_tok = tokens(model.backbone, im_q), tokens(model.momentum_backbone, im_k)
    n, s, c = q_tok.shape
    side = int(s**0.5)
    q = F.normalize(model.neck.mlp(q_tok.mean(1)), dim=1)  # global vector: mean patch token
    k = F.normalize(model.momentum_neck.mlp(k_tok.mean(1)), dim=1)

    def dense(neck, tok):
        grid = tok.transpose(1, 2).reshape(n, c, side, side)
        return F.normalize(neck.dense_mlp(grid).flatten(2), dim=1).transpose(1, 2)  # (N, S, D)

    q_d, k_d = dense(model.neck, q_tok), dense(model.momentum_neck, k_tok)
    pos_dense, cells = [], []
    for b in range(n):
        for i in range(s):
            # The key cell whose *backbone* token is most cosine-similar to query cell i.
            sims = F.cosine_similarity(q_tok[b, i][None], k_tok[b], dim=1)  # over key cells
            j = int(sims.argmax())
            pos_dense.append((q_d[b, i] * k_d[b, j]).sum())
            cells.append(q_d[b, i])
    losses = (infonce(q, (q * k).sum(1), queue, t),
              infonce(torch.stack(cells), torch.stack(pos_dense), dense_queue, t))
    return (1 - lam) * losses[0], lam * losses[1]


def test_densecl_vit_demo_loss_matches_the_authors_forward_on_tokens():
    model = build(DENSECL)
    assert model.backbone.__class__.__name__ == 'VisionTransformer'
    im_q, im_k = views(2, 64)
    queue, dense_queue = model.queue.feats.clone(), model.dense_queue.feats.clone()
    losses = model.loss([im_q, im_k])
    with torch.no_grad():
        # The key encoder equals the online one after init (one EMA step keeps it so).
        single, dense = reference_densecl(model, im_q, im_k, queue, dense_queue)
    assert losses['loss_single'].item() == pytest.approx(single.item(), rel=1e-10, abs=1e-12)
    assert losses['loss_dense'].item() == pytest.approx(dense.item(), rel=1e-10, abs=1e-12)
    # 8x8 token grid at 64 px with 8-px patches: 64 dense cells per image went into the loss.
    assert model.backbone(im_q)[-1].shape == (2, 64, 8, 8)


def test_correspondence_is_the_argmax_over_key_tokens_by_hand():
    # 2 query tokens and 3 key tokens in R^2, normalised: q0 closest to k2, q1 to k0.
    q = F.normalize(torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64), dim=1)
    k = F.normalize(torch.tensor([[[0.1, 0.9, 0.8], [1.0, 0.2, -0.1]]],
                                 dtype=torch.float64).transpose(1, 2), dim=2).transpose(1, 2)
    q = q.transpose(1, 2)  # (N, C, Sq): columns are the tokens (1, 0) and (0, 1)
    assert DenseCL.match_key_cells(q, k).tolist() == [[2, 0]]


def test_vit_densecl_neck_heads_are_moco_v3_bn_mlps():
    neck = MODELS.build(dict(type='ViTDenseCLNeck', in_channels=8, hid_channels=16,
                             out_channels=4, num_layers=3)).double()
    kinds = [type(m).__name__ for m in neck.mlp]
    assert kinds == ['Linear', 'BatchNorm1d', 'ReLU', 'Linear', 'BatchNorm1d', 'ReLU', 'Linear',
                     'BatchNorm1d']
    assert neck.mlp[-1].affine is False and neck.dense_mlp[-1].affine is False
    x = torch.randn(3, 8, 2, 2, dtype=torch.float64)
    g, d, pooled = neck([x])
    # Global vector = the head on the mean token; dense = the same MLP per token (1x1 convs).
    assert torch.allclose(g, neck.mlp(x.mean((2, 3))))
    assert d.shape == (3, 4, 4) and torch.allclose(pooled, d.mean(2))
    # Last BN without affine, batch statistics: each output channel has mean 0 over the batch.
    assert torch.allclose(g.mean(0), torch.zeros(4, dtype=torch.float64), atol=1e-12)


def positive_mask(box_q, box_k, side, ratio):
    """Token cells whose centres lie within ``ratio`` of the larger bin diagonal."""
    mask = torch.zeros(box_q.shape[0], side * side, side * side, dtype=torch.float64)
    for b in range(box_q.shape[0]):
        bins = []
        for box in (box_q[b], box_k[b]):
            bw, bh = (box[2] - box[0]) / side, (box[3] - box[1]) / side
            centres = [(float(box[0] + (x + 0.5) * bw), float(box[1] + (y + 0.5) * bh))
                       for y in range(side) for x in range(side)]
            bins.append((centres, float(torch.sqrt(bw**2 + bh**2))))
        (cq, dq), (ck, dk) = bins
        ck = torch.tensor(ck, dtype=torch.float64)
        for i, (xi, yi) in enumerate(cq):
            dist = ((ck[:, 0] - xi)**2 + (ck[:, 1] - yi)**2).sqrt()
            mask[b, i] = (dist < ratio * max(dq, dk)).double()
    return mask


def reference_pixpro(model, v1, v2, b1, b2, gamma=2.0, ratio=0.7):
    """PixPro's forward (zdaxie/PixPro) with the ViT's patch tokens as the C5 cells."""

    def ppm(x):
        n, c, h, w = x.shape
        flat = x.flatten(2)
        unit = F.normalize(flat, dim=1)
        sim = (unit.transpose(1, 2) @ unit).clamp(min=0)**gamma  # (N, S, S)
        value = F.normalize(model.ppm.value_transform(x).flatten(2), dim=1)
        return (value @ sim.transpose(1, 2)).reshape(n, c, h, w)

    preds = [ppm(model.neck(model.backbone(v)[-1])) for v in (v1, v2)]
    targets = [model.momentum_neck(model.momentum_backbone(v)[-1]) for v in (v1, v2)]
    side = preds[0].shape[-1]

    def loss(p, t, bq, bk):
        mask = positive_mask(bq, bk, side, ratio)
        cos = F.normalize(p, dim=1).flatten(2).transpose(1, 2) @ F.normalize(t, dim=1).flatten(2)
        return -2 * ((cos * mask).sum((1, 2)) / (mask.sum((1, 2)) + 1e-6)).mean()

    return loss(preds[0], targets[1], b1, b2) + loss(preds[1], targets[0], b2, b1)


def test_pixpro_vit_demo_loss_matches_the_authors_forward_on_tokens():
    model = build(PIXPRO)
    v1, v2 = views(2, 64, seed=1)  # 64 px: an 8x8 token grid (the demo crops 96 px: 12x12)
    b1 = torch.tensor([[0., 0., 48., 48.], [6., 2., 60., 56.]], dtype=torch.float64)
    b2 = torch.tensor([[16., 16., 64., 64.], [0., 6., 42., 50.]], dtype=torch.float64)
    samples = [BaseDataElement(view_boxes=torch.stack([b1[i], b2[i]])) for i in range(2)]
    loss = model.loss([v1, v2], samples)['loss_pixpro']
    with torch.no_grad():
        ref = reference_pixpro(model, v1, v2, b1, b2)
    assert model.neck(model.backbone(v1)[-1]).shape == (2, 64, 8, 8)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-10, abs=1e-12)
    assert -2 < loss.item() < 2  # some positives exist in both directions
    loss.backward()
    assert model.backbone.patch_embed.projection.weight.grad.abs().sum() > 0
    assert model.momentum_backbone.patch_embed.projection.weight.grad is None


@pytest.mark.parametrize('config', [DENSECL, PIXPRO], ids=['densecl', 'pixpro'])
def test_vit_norm_eval_is_refused_like_resnets(config):
    from mmdense.utils import ConfigError
    cfg = Config.fromfile(config)
    cfg.model.backbone.norm_eval = True
    with pytest.raises(ConfigError, match=r'model\.backbone\.norm_eval=True'):
        MODELS.build(cfg.model)
