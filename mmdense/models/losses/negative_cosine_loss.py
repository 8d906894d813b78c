"""BYOL's regression loss as PixPro's instance branch scales it: ``-2 cos``, batch mean."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS

__all__ = ['negative_cosine_loss', 'NegativeCosineLoss']


def negative_cosine_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``-2 * mean_n cos(pred_n, target_n)``.

    BYOL writes ``2 - 2 cos`` (the squared distance of the unit vectors); PixPro's
    instance branch drops the constant, so identical directions give -2.

    Args:
        pred: Online predictions ``(N, D)`` (L2-normalised here).
        target: Momentum targets ``(N, D)`` (L2-normalised here).

    Returns:
        torch.Tensor: Scalar loss.
    """
    if pred.dim() != 2 or pred.shape != target.shape:
        raise ValueError(f'pred and target must both be (N, D), got {tuple(pred.shape)} and '
                         f'{tuple(target.shape)}')
    return -2 * (F.normalize(pred, dim=1) * F.normalize(target, dim=1)).sum(dim=1).mean()


@MODELS.register_module()
class NegativeCosineLoss(nn.Module):
    """Module form of :func:`negative_cosine_loss`."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """See :func:`negative_cosine_loss`."""
        return negative_cosine_loss(pred, target)
