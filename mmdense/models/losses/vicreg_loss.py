"""VICReg's variance-invariance-covariance criterion on global embeddings, as VICRegL uses it."""
from typing import Dict, Sequence

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS

__all__ = ['gather_with_grad', 'gather_center', 'variance_term', 'off_diagonal_square_sum',
           'vicreg_loss', 'VICRegLoss']


def _world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class _GatherWithGrad(torch.autograd.Function):
    """All-gather whose backward sums the gradients over ranks and returns this rank's part."""

    @staticmethod
    def forward(ctx, x: torch.Tensor):
        out = [torch.zeros_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(out, x)
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack(grads)
        dist.all_reduce(stacked)
        return stacked[dist.get_rank()]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0, keeping the gradient path.

    Unlike :func:`~mmdense.models.utils.concat_all_gather` (keys without
    gradient), VICReg's variance and covariance are functions of the whole
    global batch and every rank's embeddings receive their gradient (the
    authors' ``FullGatherLayer``). Identity on a single process.

    Args:
        x: ``(B, ...)``, the same shape on every rank.

    Returns:
        torch.Tensor: ``(world_size * B, ...)``.
    """
    if _world_size() == 1:
        return x
    return torch.cat(_GatherWithGrad.apply(x.contiguous()), dim=0)


def gather_center(x: torch.Tensor) -> torch.Tensor:
    """Gather across ranks (with gradient) and subtract the mean over the global batch."""
    x = gather_with_grad(x)
    return x - x.mean(dim=0)


def variance_term(x: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Hinge on the standard deviation of every dimension: ``mean(relu(1 - sqrt(var + eps)))``.

    Args:
        x: ``(B, ..., D)``; the (unbiased) variance is taken over dim 0.
        eps: Added to the variance inside the square root (1e-4).

    Returns:
        torch.Tensor: Scalar.
    """
    return F.relu(1.0 - torch.sqrt(x.var(dim=0) + eps)).mean()


def off_diagonal_square_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum of the squared off-diagonal covariances divided by the dimension, ``(...)``.

    Args:
        x: Centred ``(B, ..., D)``; the covariance is over dim 0, per leading index
            of ``...`` (VICRegL's per-matched-position covariance).

    Returns:
        torch.Tensor: ``(...)``, one value per covariance matrix.
    """
    batch, dim = x.shape[0], x.shape[-1]
    cov = torch.einsum('b...c,b...d->...cd', x, x) / (batch - 1)
    # All squares minus the diagonal's: the same sum as masking the off-diagonal entries,
    # without a boolean gather whose backward is slow for VICRegL's (K, C, C) stacks.
    diag = torch.diagonal(cov, dim1=-2, dim2=-1)
    return (cov.pow(2).sum(dim=(-2, -1)) - diag.pow(2).sum(-1)) / dim


def vicreg_loss(embeddings: Sequence[torch.Tensor],
                inv_coeff: float = 25.0,
                var_coeff: float = 25.0,
                cov_coeff: float = 1.0,
                num_anchor_views: int = 2,
                eps: float = 1e-4) -> Dict[str, torch.Tensor]:
    """VICRegL's global criterion over V >= 2 views.

    - invariance: ``inv_coeff`` times the mean over pairs ``(i, j)``,
      ``i < num_anchor_views`` (the global crops), ``j != i`` (all views), of the
      mean squared error between the embeddings of views i and j;
    - variance: ``var_coeff`` times the mean over views of :func:`variance_term`
      of the view's embeddings gathered across ranks and centred;
    - covariance: ``cov_coeff`` times the mean over views of the sum of squared
      off-diagonal covariances of those embeddings divided by ``D``.

    Args:
        embeddings: V tensors ``(B, D)``, one per view (the global crops first).
        inv_coeff: Invariance weight (25).
        var_coeff: Variance weight (25).
        cov_coeff: Covariance weight (1).
        num_anchor_views: Views paired with every other view (2).
        eps: Variance epsilon (1e-4).

    Returns:
        dict: ``inv``, ``var``, ``cov``, each a weighted scalar.
    """
    num_views = len(embeddings)
    if num_views < 2 or num_anchor_views < 1 or num_anchor_views > num_views:
        raise ValueError(f'vicreg_loss needs >= 2 views and 1 <= num_anchor_views <= views, got '
                         f'{num_views} views and num_anchor_views={num_anchor_views}')
    pairs = [(i, j) for i in range(num_anchor_views) for j in range(num_views) if j != i]
    inv = sum(F.mse_loss(embeddings[i], embeddings[j]) for i, j in pairs) / len(pairs)
    var = cov = 0.0
    for z in embeddings:
        z = gather_center(z)
        var = var + variance_term(z, eps)
        cov = cov + off_diagonal_square_sum(z)
    return dict(inv=inv_coeff * inv, var=var_coeff * var / num_views,
                cov=cov_coeff * cov / num_views)


@MODELS.register_module()
class VICRegLoss(nn.Module):
    """Module form of :func:`vicreg_loss`; returns the three weighted terms.

    Args:
        inv_coeff: Invariance weight (25).
        var_coeff: Variance weight (25).
        cov_coeff: Covariance weight (1).
        num_anchor_views: Views paired with every other view (VICRegL: the 2 global crops).
        eps: Variance epsilon (1e-4).
    """

    def __init__(self,
                 inv_coeff: float = 25.0,
                 var_coeff: float = 25.0,
                 cov_coeff: float = 1.0,
                 num_anchor_views: int = 2,
                 eps: float = 1e-4) -> None:
        super().__init__()
        if min(inv_coeff, var_coeff, cov_coeff) < 0:
            raise ValueError('VICReg coefficients must be non-negative, got '
                             f'{(inv_coeff, var_coeff, cov_coeff)}')
        self.inv_coeff, self.var_coeff, self.cov_coeff = inv_coeff, var_coeff, cov_coeff
        self.num_anchor_views = num_anchor_views
        self.eps = eps

    def forward(self, embeddings: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """See :func:`vicreg_loss`."""
        return vicreg_loss(embeddings, self.inv_coeff, self.var_coeff, self.cov_coeff,
                           self.num_anchor_views, self.eps)
