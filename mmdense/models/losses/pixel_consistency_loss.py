"""PixPro's pixel-to-propagation consistency loss."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS
from ..utils.view_geometry import check_view_maps, pixel_positive_mask


def pixel_consistency_loss(pred: torch.Tensor, target: torch.Tensor, coord_q: torch.Tensor,
                           coord_k: torch.Tensor, pos_ratio: float = 0.7) -> torch.Tensor:
    """Negative cosine between propagated query cells and their positive key cells.

    Per image, the cosine similarities of all positive pairs are averaged
    (0 for an image without positive pairs, as in the reference, whose
    denominator carries ``+ 1e-6``); the loss is ``-2`` times the batch mean,
    the reference's scaling (``2 - 2 cos`` is the squared distance of unit
    vectors, up to a constant). Identical inputs with positives give about ``-2``.

    Args:
        pred: Query predictions ``(N, C, Hq, Wq)`` (L2-normalised here along C).
        target: Key projections ``(N, C, Hk, Wk)`` (L2-normalised here along C).
        coord_q: Query view boxes ``(N, 4)``.
        coord_k: Key view boxes ``(N, 4)``.
        pos_ratio: Positive threshold in bin diagonals (0.7).

    Returns:
        torch.Tensor: Scalar loss.
    """
    check_view_maps(pred, target)
    mask = pixel_positive_mask(coord_q.to(pred.dtype), coord_k.to(pred.dtype),
                               tuple(pred.shape[2:]), tuple(target.shape[2:]), pos_ratio)
    pred = F.normalize(pred, dim=1).flatten(2)
    target = F.normalize(target, dim=1).flatten(2)
    cos = torch.bmm(pred.transpose(1, 2), target)  # (N, Sq, Sk)
    per_image = (cos * mask).sum(dim=(1, 2)) / (mask.sum(dim=(1, 2)) + 1e-6)
    return -2 * per_image.mean()


@MODELS.register_module()
class PixelConsistencyLoss(nn.Module):
    """Module form of :func:`pixel_consistency_loss`.

    Args:
        pos_ratio: Positive threshold ``T`` in bin diagonals (0.7 in PixPro).
    """

    def __init__(self, pos_ratio: float = 0.7) -> None:
        super().__init__()
        if pos_ratio <= 0:
            raise ValueError(f'pos_ratio must be positive (0.7 in PixPro), got {pos_ratio}')
        self.pos_ratio = pos_ratio

    def forward(self, pred: torch.Tensor, target: torch.Tensor, coord_q: torch.Tensor,
                coord_k: torch.Tensor) -> torch.Tensor:
        """See :func:`pixel_consistency_loss`."""
        return pixel_consistency_loss(pred, target, coord_q, coord_k, self.pos_ratio)
