"""DetCon-B: its loss against a float64 hand computation and lightly's DetConBLoss, majority
downsampling, mask sampling and pooling, the grid fallback, and the shipped R18 model's
gradients and EMA schedule."""
import math
import os.path as osp

import pytest
import torch
from lightly.loss import DetConBLoss
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from mmdense.engine.hooks import cosine_momentum
from mmdense.models.algorithms.detcon import grid_masks
from mmdense.models.losses import detcon_loss
from mmdense.models.utils.mask_pooling import downsample_masks, mask_pool, sample_mask_ids
from mmdense.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs/detcon/detcon_r18_demo.py')


def hand_loss(p0, p1, t0, t1, i0, i1, temperature, images=None):
    """Per-ROI loops in float64, written from the paper's eq. 3 and the authors' weighting.

    ``images``: the global indices of the images whose predictions this rank holds (all when
    None); targets always cover the whole (global) batch.
    """
    views = [(p0, i0), (p1, i1)]
    targets = [(t0, i0), (t1, i1)]
    images = range(p0.shape[0]) if images is None else images
    total = 0.0
    for a in (0, 1):
        b = 1 - a
        pred, ids = views[a]
        terms = []
        for n in images:
            for r in range(pred.shape[1]):
                q = pred[n, r] / pred[n, r].norm()
                logits, positive = [], []
                for view, is_other in ((b, True), (a, False)):
                    tv, tid = targets[view]
                    for m in range(tv.shape[0]):
                        for s in range(tv.shape[1]):
                            same = m == n and int(tid[m, s]) == int(ids[n, r])
                            if same and not is_other:
                                continue  # same view, same image, same id: removed
                            k = tv[m, s] / tv[m, s].norm()
                            logits.append(float(q @ k) / temperature)
                            positive.append(same and is_other)
                logits = torch.tensor(logits, dtype=torch.float64)
                log_prob = logits - torch.logsumexp(logits, 0)
                pos = torch.tensor(positive)
                copies = int((ids[n] == ids[n, r]).sum())
                if pos.any():
                    terms.append(-log_prob[pos].mean() / copies)
                else:
                    terms.append(torch.tensor(0., dtype=torch.float64))
        total = total + torch.stack(terms).mean()
    return total


def tiny_case(seed=0, batch=3, rois=5, dim=6):
    g = torch.Generator().manual_seed(seed)
    p0, p1, t0, t1 = (torch.randn(batch, rois, dim, generator=g, dtype=torch.float64)
                      for _ in range(4))
    # Repeated ids, ids absent from the other view (7 and 9), as 16 draws from few masks give.
    i0 = torch.tensor([[0, 0, 1, 2, 7], [3, 3, 3, 1, 1], [5, 4, 4, 4, 9]])[:batch, :rois]
    i1 = torch.tensor([[1, 0, 2, 2, 2], [1, 3, 0, 0, 0], [4, 5, 5, 6, 6]])[:batch, :rois]
    return p0, p1, t0, t1, i0, i1


def test_loss_matches_hand_computation():
    p0, p1, t0, t1, i0, i1 = tiny_case()
    ours = detcon_loss(p0, p1, t0, t1, i0, i1, temperature=0.1)
    assert ours.dtype == torch.float64
    assert ours.item() == pytest.approx(hand_loss(p0, p1, t0, t1, i0, i1, 0.1).item(), rel=1e-12)


def test_loss_matches_lightly_detconb():
    """lightly's DetConBLoss ports the authors' byol_nce_detcon; with one id set per view (the
    target pools under the online ids, as the authors' model does) the definitions agree.
    The one difference: lightly builds its labels and ROI weights in float32 (``torch.eye``,
    ``.float()``) whatever the input dtype, so float64 results differ at about 1e-8 (1/3 in
    float32), beyond float64 rounding."""
    for seed in range(3):
        p0, p1, t0, t1, i0, i1 = tiny_case(seed)
        ours = detcon_loss(p0, p1, t0, t1, i0, i1, temperature=0.1)
        theirs = DetConBLoss(temperature=0.1, gather_distributed=False)(p0, p1, t0, t1, i0, i1)
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    p0, p1, t0, t1, i0, i1 = tiny_case(0)
    ours = detcon_loss(p0, p1, t0, t1, i0, i1, temperature=0.1).item()
    theirs = DetConBLoss(temperature=0.1, gather_distributed=False)(p0, p1, t0, t1, i0, i1).item()
    weights_in_float32 = abs(ours - theirs) / ours
    assert 1e-12 < weights_in_float32 < 1e-6


def test_negatives_come_from_every_rank(monkeypatch):
    """Rank 1 of 2 holds images 2-3 of a batch of 4: its loss is the hand loss of its rows
    against the targets of all four images (the gathered global batch)."""
    import sys
    module = sys.modules['mmdense.models.losses.detcon_loss']  # the package re-exports the name
    g = torch.Generator().manual_seed(5)
    p0, p1, t0, t1 = (torch.randn(4, 3, 5, generator=g, dtype=torch.float64) for _ in range(4))
    i0 = torch.tensor([[0, 1, 1], [2, 0, 0], [1, 1, 3], [0, 2, 2]])
    i1 = torch.tensor([[1, 1, 0], [0, 2, 4], [3, 1, 0], [2, 2, 0]])
    gathered = iter([t0, t1])  # what the other rank would contribute: the global targets
    monkeypatch.setattr(module, '_rank', lambda: 1)
    monkeypatch.setattr(module, 'concat_all_gather',
                        lambda x: torch.nn.functional.normalize(next(gathered), dim=-1))
    ours = module.detcon_loss(p0[2:], p1[2:], t0[2:], t1[2:], i0[2:], i1[2:])
    expected = hand_loss(p0, p1, t0, t1, i0, i1, 0.1, images=[2, 3])
    assert ours.item() == pytest.approx(expected.item(), rel=1e-12)


def test_loss_gradient_reaches_predictions_only():
    p0, p1, t0, t1, i0, i1 = tiny_case()
    leaves = [x.clone().requires_grad_() for x in (p0, p1, t0, t1)]
    detcon_loss(*leaves, i0, i1).backward()
    assert all(x.grad.abs().sum() > 0 for x in leaves[:2])
    assert all(x.grad is None for x in leaves[2:])


def test_majority_downsampling():
    # 4x4 pixels -> 2x2 cells: each 2x2 block takes its most frequent id, ties the smaller id.
    mask = torch.tensor([[[5, 5, 1, 2],
                          [5, 3, 2, 2],
                          [7, 7, 9, 9],
                          [3, 3, 4, 4]]])
    assert downsample_masks(mask, (2, 2)).tolist() == [[5, 2, 3, 4]]
    # The authors' form (one-hot, average-pool, argmax) over a random mask gives the same.
    g = torch.Generator().manual_seed(0)
    rand = torch.randint(0, 6, (2, 12, 12), generator=g)
    one_hot = torch.nn.functional.one_hot(rand, 6).permute(0, 3, 1, 2).double()
    ref = torch.nn.functional.avg_pool2d(one_hot, 4).flatten(2).argmax(1)
    assert torch.equal(downsample_masks(rand, (3, 3)), ref)
    with pytest.raises(ValueError, match='multiple of the feature grid'):
        downsample_masks(rand, (5, 5))


def test_sampling_draws_present_ids_with_replacement_and_pooling_averages():
    cells = torch.tensor([[4, 4, 9, 9, 9, 4, 4, 4, 4], [1, 1, 1, 1, 1, 1, 1, 1, 1]])
    torch.manual_seed(0)
    ids = sample_mask_ids(cells, 16)
    assert ids.shape == (2, 16)
    assert set(ids[0].tolist()) == {4, 9} and set(ids[1].tolist()) == {1}
    feats = torch.arange(2 * 3 * 9, dtype=torch.float64).reshape(2, 3, 3, 3)
    pooled = mask_pool(feats, cells, torch.tensor([[9, 4], [1, 1]]))
    flat = feats.flatten(2)
    assert torch.allclose(pooled[0, 0], flat[0][:, cells[0] == 9].mean(1))
    assert torch.allclose(pooled[0, 1], flat[0][:, cells[0] == 4].mean(1))
    assert torch.allclose(pooled[1, 1], flat[1].mean(1))


def test_grid_masks_follow_view_boxes():
    # A flipped right half of the image: its left pixels lie at the original's right edge.
    boxes = torch.tensor([[1.0, 0.0, 0.5, 1.0]])
    ids = grid_masks(boxes, (4, 4), 2)
    assert ids[0].tolist() == [[1, 1, 1, 1]] * 2 + [[3, 3, 3, 3]] * 2


def _model():
    cfg = Config.fromfile(DEMO)
    cfg.model.backbone.base_channels = 16
    cfg.model.neck.update(in_channels=128, hid_channels=32)
    cfg.model.predictor.hid_channels = 32
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def _batch(batch=4, size=64):
    g = torch.Generator().manual_seed(1)
    views = [[torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
              for _ in range(batch)] for _ in range(2)]
    samples = []
    for _ in range(batch):
        masks = torch.randint(0, 3, (2, size // 16, size // 16), generator=g)
        masks = masks.repeat_interleave(16, 1).repeat_interleave(16, 2).int()
        samples.append(BaseDataElement(seg_masks=masks))
    return dict(inputs=views, data_samples=samples)


def test_shipped_model_gradients_reach_exactly_the_online_parameters():
    model = _model()
    data = model.data_preprocessor(_batch(), True)
    loss = model(**data, mode='loss')['loss_detcon']
    loss.backward()
    for name, param in model.named_parameters():
        if name.startswith('momentum_'):
            assert param.grad is None, name
        else:
            assert param.grad is not None, name
    # Zero-init residual BN (as Haiku's ResNet v1) leaves some block convs at zero gradient
    # on the first step; the stem, the projector and the predictor get signal.
    for name in ('backbone.conv1.weight', 'neck.mlp.0.weight', 'predictor.mlp.3.weight'):
        assert dict(model.named_parameters())[name].grad.abs().sum() > 0, name
    assert {n.split('.')[0] for n, _ in model.named_parameters()} == {
        'backbone', 'neck', 'predictor', 'momentum_backbone', 'momentum_neck'}


def test_target_uses_the_online_ids():
    """With the target equal to the online network, the same ids make the targets equal to
    the online projections (different ids would not)."""
    model = _model()
    model.momentum = 1.0
    seen = {}
    original = model.criterion.forward

    def spy(preds, targets, ids):
        seen.update(targets=targets, ids=ids)
        return original(preds, targets, ids)

    model.criterion.forward = spy
    data = model.data_preprocessor(_batch(), True)
    torch.manual_seed(3)
    model(**data, mode='loss')
    views = data['inputs']
    from mmdense.models.algorithms.detcon import stack_view_masks
    masks = stack_view_masks(data['data_samples'], views)
    for v in range(2):
        feats = model.backbone(views[v])[-1]
        cells = downsample_masks(masks[v], feats.shape[-2:])
        online = model.neck(mask_pool(feats, cells, seen['ids'][v]))
        # BN in train mode over the same batch: identical inputs give identical outputs.
        assert torch.allclose(online, seen['targets'][v], atol=1e-5)


def test_ema_schedule_formula():
    for k, big_k in ((0, 10), (3, 10), (10, 10)):
        expected = 1 - (1 - 0.996) * (math.cos(math.pi * k / big_k) + 1) / 2
        assert cosine_momentum(0.996, k, big_k) == pytest.approx(expected, abs=1e-15)
    assert _model().base_momentum == 0.996


def test_missing_masks_are_an_error_unless_grid_masks_are_asked_for():
    model = _model()
    g = torch.Generator().manual_seed(0)
    views = [[torch.randint(0, 256, (3, 64, 64), generator=g, dtype=torch.uint8)
              for _ in range(4)] for _ in range(2)]
    boxes = torch.tensor([[0., 0., .75, .75], [.25, .25, 1., 1.]])
    data = model.data_preprocessor(
        dict(inputs=views, data_samples=[BaseDataElement(view_boxes=boxes) for _ in range(4)]),
        True)
    # Felzenszwalb masks (the default) are never silently replaced by another kind.
    with pytest.raises(ValueError, match="LoadFelzenszwalbMask.*mask_source='grid'"):
        model(**data, mode='loss')
    model.mask_source = 'grid'
    loss = model(**data, mode='loss')['loss_detcon']
    # 2x2 grid (the res5 side at 64 px): the overlapping views share ids, so the loss is live.
    assert loss > 0
    loss.backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='view_boxes'):
        model(**model.data_preprocessor(
            dict(inputs=views, data_samples=[BaseDataElement() for _ in range(4)]), True),
            mode='loss')
    with pytest.raises(ValueError, match='mask_source'):
        MODELS.build(dict(Config.fromfile(DEMO).model, mask_source='mcg'))
