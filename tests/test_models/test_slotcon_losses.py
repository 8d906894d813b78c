"""SlotCon's parts against float64 hand computations: grouping, overlap alignment (RoIAlign),
group loss, slot presence and the slot contrastive loss."""
import math

import pytest
import torch

from mmdense.models.losses import (SlotConGroupLoss, SlotContrastiveLoss, slot_contrastive_loss,
                                   slot_presence, slotcon_group_loss)
from mmdense.models.losses.slotcon_group_loss import align_to_overlap, overlap_in_view
from mmdense.models.necks import DINOProjector2d, SemanticGrouping, SlotPredictor


def test_grouping_scores_and_slots_by_hand():
    grouping = SemanticGrouping(2, dim=2, temperature=0.5, eps=0.0).double()
    with torch.no_grad():
        grouping.prototypes.weight.copy_(torch.tensor([[2., 0.], [0., 1.]]))
    # One image, two pixels: z_0 = (1, 0), z_1 = (3, 4).
    x = torch.tensor([[1., 3.], [0., 4.]], dtype=torch.float64).view(1, 2, 1, 2)
    slots, scores = grouping(x)
    cos = [[1.0, 0.6], [0.0, 0.8]]  # prototype k against pixel p
    torch.testing.assert_close(scores.view(2, 2), torch.tensor(cos, dtype=torch.float64))
    z = [(1., 0.), (3., 4.)]
    for k in range(2):
        a = [math.exp(cos[k][p] / 0.5) / sum(math.exp(cos[j][p] / 0.5) for j in range(2))
             for p in range(2)]
        expected = [sum(a[p] * z[p][c] for p in range(2)) / sum(a) for c in range(2)]
        torch.testing.assert_close(slots[0, k], torch.tensor(expected, dtype=torch.float64))


def _render(box, fn, h, w):
    """A view's (2, h, w) map of a function of original-image coordinates at its cell centres."""
    u = (torch.arange(w, dtype=torch.float64) + 0.5) / w
    v = (torch.arange(h, dtype=torch.float64) + 0.5) / h
    x = box[0] + u * (box[2] - box[0])
    y = box[1] + v * (box[3] - box[1])
    return fn(x[None, :].expand(h, w), y[:, None].expand(h, w))


def test_overlap_alignment_samples_the_same_image_points_in_both_views():
    """Both views' aligned maps equal the function at the overlap's own cell centres.

    Maps render linear functions of original-image coordinates (bilinear sampling is then
    exact); view B is flipped horizontally. View A is the whole image, view B covers
    x in [0.125, 0.625], y in [0.25, 0.75], which is the overlap; its 4 x 4 cells have
    centres x = 0.1875 + 0.125 j, y = 0.3125 + 0.125 i.
    """
    def fn(x, y):
        return torch.stack([3 * x + 5 * y, 7 * x - 2 * y])

    box_a = torch.tensor([[0., 0., 1., 1.]], dtype=torch.float64)
    box_b = torch.tensor([[0.625, 0.25, 0.125, 0.75]], dtype=torch.float64)  # flipped
    map_a = _render(box_a[0], fn, 4, 4)[None]
    map_b = _render(box_b[0], fn, 4, 4)[None]
    roi_b, flipped_b = overlap_in_view(box_b, box_a)
    torch.testing.assert_close(roi_b, torch.tensor([[0., 0., 1., 1.]], dtype=torch.float64))
    assert flipped_b.tolist() == [[True, False]]
    roi_a, flipped_a = overlap_in_view(box_a, box_b)
    torch.testing.assert_close(roi_a,
                               torch.tensor([[0.125, 0.25, 0.625, 0.75]], dtype=torch.float64))
    assert flipped_a.tolist() == [[False, False]]
    cells = torch.arange(4, dtype=torch.float64)
    xs, ys = 0.1875 + 0.125 * cells, 0.3125 + 0.125 * cells
    expected = fn(xs[None, :].expand(4, 4), ys[:, None].expand(4, 4))[None]
    aligned_a = align_to_overlap(map_a, box_a, box_b)
    aligned_b = align_to_overlap(map_b, box_b, box_a)
    torch.testing.assert_close(aligned_a, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(aligned_b, expected, rtol=0, atol=1e-12)
    # A known pixel: overlap cell (0, 0) sees the image point (0.1875, 0.3125).
    assert aligned_b[0, 0, 0, 0].item() == pytest.approx(3 * 0.1875 + 5 * 0.3125, abs=1e-12)
    # Without the flip back, view B's first column would be the overlap's last one.
    assert not torch.allclose(map_b, expected)


def test_group_loss_by_hand():
    s = torch.tensor([[0.2, -0.1, 0.5], [0.9, 0.3, -0.4]], dtype=torch.float64)
    t = torch.tensor([[0.1, 0.4, -0.2], [0.0, 0.7, 0.6]], dtype=torch.float64)
    c = torch.tensor([[0.05, -0.02, 0.1]], dtype=torch.float64)
    total = 0.0
    for row in range(2):
        zs = [math.exp(v / 0.1) for v in s[row].tolist()]
        zt = [math.exp((v - cv) / 0.07) for v, cv in zip(t[row].tolist(), c[0].tolist())]
        total += sum(-(pt / sum(zt)) * math.log(ps / sum(zs)) for ps, pt in zip(zs, zt))
    loss = slotcon_group_loss(s, t, c, student_temp=0.1, teacher_temp=0.07)
    assert loss.item() == pytest.approx(total / 2, rel=1e-12)
    # The module form on maps whose views coincide (no resampling effect): the same rows.
    box = torch.tensor([[0., 0., 1., 1.]], dtype=torch.float64)
    maps = [m.t().reshape(1, 3, 1, 2) for m in (s, t)]
    module = SlotConGroupLoss(student_temp=0.1, teacher_temp=0.07)
    assert module(*maps, box, box, c).item() == pytest.approx(total / 2, rel=1e-9)


def test_slot_presence_marks_prototypes_that_win_a_pixel():
    scores = torch.tensor([[[[0.9, 0.1]], [[0.2, 0.8]], [[0.5, 0.5]]],
                           [[[0.1, 0.2]], [[0.0, 0.1]], [[0.3, 0.9]]]])  # (2, 3, 1, 2)
    assert slot_presence(scores).tolist() == [[True, True, False], [False, False, True]]


def test_slot_contrastive_loss_by_hand():
    """Two images, three prototypes, 1 x 2 maps; prototypes present in both views:
    image 0: {0, 1} (student) and {0, 1} (teacher); image 1: {2} and {0, 2}."""
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    k = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)

    def maps(winners):  # winners[n][p] = prototype winning pixel p of image n
        s = torch.zeros(2, 3, 1, 2, dtype=torch.float64)
        for n, row in enumerate(winners):
            for p, w in enumerate(row):
                s[n, w, 0, p] = 1.0
        return s

    sq, sk = maps([[0, 1], [2, 2]]), maps([[1, 0], [0, 2]])
    keys = [(0, 0), (0, 1), (1, 0), (1, 2)]  # teacher slots present, in flattened order
    queries = [(0, 0), (0, 1), (1, 2)]
    unit = lambda v: v / v.norm()  # noqa: E731
    total = 0.0
    for n, kk in queries:
        logits = [float(unit(q[n, kk]) @ unit(k[m, j])) / 0.2 for m, j in keys]
        pos = keys.index((n, kk))
        total += -logits[pos] + math.log(sum(math.exp(v) for v in logits))
    expected = total / len(queries) * 2 * 0.2
    assert slot_contrastive_loss(q, k, sq, sk, 0.2).item() == pytest.approx(expected, rel=1e-12)
    double = lambda x: 2 * x  # noqa: E731  (a predictor; the loss normalises after it)
    module = SlotContrastiveLoss(0.2)
    assert module(q, k, sq, sk, double).item() == pytest.approx(expected, rel=1e-12)


def test_contrastive_loss_without_common_slot_is_a_connected_zero():
    q = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 2, 3, dtype=torch.float64)
    sq = torch.tensor([[[[1.]], [[0.]]]] * 2, dtype=torch.float64)  # prototype 0 wins
    sk = torch.tensor([[[[0.]], [[1.]]]] * 2, dtype=torch.float64)  # prototype 1 wins
    predictor = SlotPredictor(3, 8, 3).double()
    loss = slot_contrastive_loss(q, k, sq, sk, 0.2, predictor)
    loss.backward()
    assert loss.item() == 0 and torch.equal(q.grad, torch.zeros_like(q))
    # Every predictor parameter has a (zero) gradient and its BN saw the four query slots.
    assert all(p.grad is not None and not p.grad.any() for p in predictor.parameters())
    assert int(predictor.mlp[1].num_batches_tracked) == 1


def test_heads_have_the_authors_layout_and_initialisation():
    torch.manual_seed(0)
    proj = DINOProjector2d(64, 128, 32)
    convs = [m for m in proj.mlp if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(64, 128), (128, 128), (128, 32)]
    assert [type(m).__name__ for m in proj.mlp] == ['Conv2d', 'BatchNorm2d', 'GELU', 'Conv2d',
                                                    'BatchNorm2d', 'GELU', 'Conv2d']
    for c in convs:
        # trunc_normal_(std=0.02) as the authors call it (its bounds, +-2, are absolute).
        assert abs(c.weight.std().item() / 0.02 - 1) < 0.15 and torch.count_nonzero(c.bias) == 0
    assert proj(torch.randn(2, 64, 3, 3)).shape == (2, 32, 3, 3)
    pred = SlotPredictor(32, 64, 32)
    assert [type(m).__name__ for m in pred.mlp] == ['Linear', 'BatchNorm1d', 'GELU', 'Linear',
                                                    'BatchNorm1d', 'GELU', 'Linear']
    assert pred(torch.randn(5, 32)).shape == (5, 32)
