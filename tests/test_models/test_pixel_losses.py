"""Pixel positive mask, PixPro's consistency loss and PixContrast's InfoNCE against hand values."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmdense.models.losses import (PixContrastLoss, PixelConsistencyLoss, pixcontrast_loss,
                                   pixel_consistency_loss)
from mmdense.models.utils import cell_distance, pixel_positive_mask

FULL = torch.tensor([[0., 0., 1., 1.]], dtype=torch.float64)


def test_same_box_pairs_only_identical_cells():
    # 2x2 cells of the whole image: centres 0.25/0.75 apart by 0.5, bin diagonal
    # sqrt(0.5) -> neighbours at 0.707 > 0.7 (negative), the same cell at 0 (positive).
    dist = cell_distance(FULL, FULL, (2, 2))
    assert dist[0, 0, 1].item() == pytest.approx(0.5 / math.sqrt(0.5))
    eye = torch.eye(4, dtype=torch.float64)[None]
    assert torch.equal(pixel_positive_mask(FULL, FULL, (2, 2)), eye)
    # Just above the neighbour distance, the 4-neighbourhood becomes positive too.
    mask = pixel_positive_mask(FULL, FULL, (2, 2), pos_ratio=0.71)[0]
    assert torch.equal(mask, torch.tensor([[1., 1, 1, 0], [1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]],
                                          dtype=torch.float64))


def test_flipped_key_box_pairs_mirrored_cells():
    flipped = torch.tensor([[1., 0., 0., 1.]], dtype=torch.float64)  # h-flip of the whole image
    mask = pixel_positive_mask(FULL, flipped, (2, 2))[0]
    # Key cell (row r, col c) shows the original at column 1 - c.
    expected = torch.tensor([[0., 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
                            dtype=torch.float64)
    assert torch.equal(mask, expected)


def test_smaller_key_box_uses_larger_bin_diagonal():
    quarter = torch.tensor([[0., 0., 0.5, 0.5]], dtype=torch.float64)
    # Key centres at 0.125/0.375; the larger (query) bin diagonal sqrt(0.5) normalises.
    dist = cell_distance(FULL, quarter, (2, 2))[0]
    assert dist[1, 0].item() == pytest.approx(math.hypot(0.625, 0.125) / math.sqrt(0.5))
    assert dist[1, 1].item() == pytest.approx(math.hypot(0.375, 0.125) / math.sqrt(0.5))
    mask = pixel_positive_mask(FULL, quarter, (2, 2))[0]
    # q0 (0.25, 0.25) is within 0.25 diagonals of all four key centres; q1 (0.75, 0.25)
    # reaches the right column (0.559) but not the left one (0.901); q3 (0.75, 0.75) is
    # 0.75 diagonals from its nearest key centre (0.375, 0.375): no positive.
    assert mask[0].tolist() == [1, 1, 1, 1]
    assert mask[1].tolist() == [0, 1, 0, 1]
    assert mask[2].tolist() == [0, 0, 1, 1]
    assert mask[3].tolist() == [0, 0, 0, 0]


def test_mask_rejects_bad_boxes():
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        pixel_positive_mask(torch.zeros(2, 3), torch.zeros(2, 3), (2, 2))


def test_consistency_loss_matches_hand_computation():
    torch.manual_seed(0)
    pred = torch.randn(2, 5, 2, 2, dtype=torch.float64)
    target = torch.randn(2, 5, 2, 2, dtype=torch.float64)
    coord_q = torch.cat([FULL, FULL])
    coord_k = torch.tensor([[1., 0., 0., 1.], [0., 0., 1., 1.]], dtype=torch.float64)
    p = F.normalize(pred, dim=1).flatten(2)
    t = F.normalize(target, dim=1).flatten(2)
    # Image 0: flipped key, pairs (0,1), (1,0), (2,3), (3,2); image 1: identical cells.
    cos0 = sum((p[0, :, i] * t[0, :, j]).sum() for i, j in [(0, 1), (1, 0), (2, 3), (3, 2)])
    cos1 = sum((p[1, :, i] * t[1, :, i]).sum() for i in range(4))
    expected = -2 * (cos0 / (4 + 1e-6) + cos1 / (4 + 1e-6)) / 2
    loss = pixel_consistency_loss(pred, target, coord_q, coord_k, 0.7)
    assert loss.item() == pytest.approx(expected.item(), abs=1e-12)
    assert PixelConsistencyLoss(0.7)(pred, target, coord_q, coord_k).item() == loss.item()


def test_consistency_loss_identical_inputs_matches_reference_scaling():
    torch.manual_seed(3)
    x = torch.randn(3, 8, 4, 4, dtype=torch.float64)
    square = torch.tensor([[0., 0., 1., 1.], [0.1, 0.2, 0.6, 0.7], [0.9, 0., 0.3, 0.6]],
                          dtype=torch.float64)
    # Square bins: only a cell and itself are positive, every cosine is 1, and the
    # reference's -2 * n / (n + 1e-6) per image gives (almost exactly) -2.
    n = 16
    assert pixel_consistency_loss(x, x, square, square).item() == pytest.approx(
        -2 * n / (n + 1e-6), abs=1e-12)
    # Elongated bins (0.05 x 0.2 in a 0.2 x 0.8 box): horizontal neighbours and the next
    # but one (0.05 and 0.1 apart, diagonal 0.206) are positive too; the value is the
    # reference formula over those pairs.
    tall = torch.tensor([[0.1, 0.1, 0.3, 0.9]] * 3, dtype=torch.float64)
    cells = F.normalize(x, dim=1).flatten(2)
    expected = 0.0
    for img in range(3):
        total, count = 0.0, 0
        for i in range(16):
            for j in range(16):
                ri, ci, rj, cj = i // 4, i % 4, j // 4, j % 4
                dx, dy = (ci - cj) * 0.05, (ri - rj) * 0.2
                if math.hypot(dx, dy) / math.hypot(0.05, 0.2) < 0.7:
                    total += (cells[img, :, i] * cells[img, :, j]).sum().item()
                    count += 1
        expected += total / (count + 1e-6)
    expected = -2 * expected / 3
    assert pixel_consistency_loss(x, x, tall, tall).item() == pytest.approx(expected, abs=1e-12)


def test_consistency_loss_without_positives_is_zero():
    far = torch.tensor([[0., 0., 0.2, 0.2]], dtype=torch.float64)
    other = torch.tensor([[0.8, 0.8, 1., 1.]], dtype=torch.float64)
    x = torch.randn(1, 4, 2, 2, dtype=torch.float64, requires_grad=True)
    loss = pixel_consistency_loss(x, x.detach(), far, other)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


def test_pixcontrast_loss_matches_hand_computation():
    torch.manual_seed(1)
    q = torch.randn(1, 6, 2, 2, dtype=torch.float64, requires_grad=True)
    k = torch.randn(1, 6, 2, 2, dtype=torch.float64)
    t = 0.3
    # Same box, neg_ratio 1.0: each cell's positive is itself; the side neighbours
    # (0.707) are ignored, the diagonal one (1.0) is the only negative.
    loss = pixcontrast_loss(q, k, FULL, FULL, pos_ratio=0.7, neg_ratio=1.0, temperature=t)
    qn = F.normalize(q.detach(), dim=1).flatten(2)[0]
    kn = F.normalize(k, dim=1).flatten(2)[0]
    c = qn.t() @ kn
    diagonal_partner = {0: 3, 1: 2, 2: 1, 3: 0}
    terms = [
        -(c[i, i] / t) +
        torch.log(torch.exp(c[i, i] / t) + torch.exp(c[i, diagonal_partner[i]] / t))
        for i in range(4)
    ]
    assert loss.item() == pytest.approx(torch.stack(terms).mean().item(), abs=1e-12)
    # neg_ratio = pos_ratio: every non-positive cell is a negative.
    loss_all = pixcontrast_loss(q, k, FULL, FULL, 0.7, 0.7, t)
    expected_all = torch.stack([torch.logsumexp(c[i] / t, 0) - c[i, i] / t
                                for i in range(4)]).mean()
    assert loss_all.item() == pytest.approx(expected_all.item(), abs=1e-12)
    loss_all.backward()
    assert torch.isfinite(q.grad).all() and q.grad.abs().sum() > 0


def test_pixcontrast_skips_cells_without_positives_and_stays_finite():
    torch.manual_seed(2)
    q = torch.randn(1, 4, 2, 2, dtype=torch.float64, requires_grad=True)
    k = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    quarter = torch.tensor([[0., 0., 0.5, 0.5]], dtype=torch.float64)
    # Query cell 3 has no positive (see the quarter-box mask): it must drop out without NaN.
    loss = PixContrastLoss(pos_ratio=0.7, neg_ratio=0.7, temperature=0.3)(q, k, FULL, quarter)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(q.grad).all()
    far = torch.tensor([[0.9, 0.9, 1., 1.]], dtype=torch.float64)
    none = pixcontrast_loss(q, k, quarter, far, 0.7, 1.0, 0.3)
    assert none.item() == 0.0
    with pytest.raises(ValueError, match='neg_ratio'):
        PixContrastLoss(pos_ratio=0.7, neg_ratio=0.5)


def test_negative_cosine_loss_is_minus_two_cos_on_average():
    from mmdense.models.losses import NegativeCosineLoss, negative_cosine_loss
    pred = torch.tensor([[3.0, 0.0], [0.0, 2.0]])
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # cos 1 and 0
    assert negative_cosine_loss(pred, target).item() == pytest.approx(-1.0)
    assert NegativeCosineLoss()(pred, pred).item() == pytest.approx(-2.0)
    with pytest.raises(ValueError, match=r'\(N, D\)'):
        negative_cosine_loss(pred, target[:1])
