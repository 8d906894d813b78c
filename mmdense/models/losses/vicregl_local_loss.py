"""VICRegL's local criterion: VICReg on matched feature-map vectors of pairs of views."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS
from ..utils.vicregl_matching import gather_matched_pairs, nearest_neighbour_pairs
from .vicreg_loss import gather_center, off_diagonal_square_sum, variance_term

__all__ = ['matched_vicreg_terms', 'vicregl_local_loss', 'VICRegLLocalLoss']


def _pairwise_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # The exact (non-matrix-product) path: the matrix-product one loses precision for close
    # points and can flip a nearest neighbour.
    return torch.cdist(a, b, compute_mode='donot_use_mm_for_euclid_dist')


def matched_vicreg_terms(x: torch.Tensor, y: torch.Tensor, inv_coeff: float = 25.0,
                         var_coeff: float = 25.0, cov_coeff: float = 1.0,
                         eps: float = 1e-4) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """VICReg on one matched set (the authors' ``_vicreg_loss``).

    The k-th kept pair of every image forms the k-th "position": variance and
    covariance are taken over the batch per position (gathered across ranks and
    centred, as the authors do), covariance per position then averaged.

    Args:
        x: ``(B, K, C)`` input vectors.
        y: ``(B, K, C)`` their matched vectors.
        inv_coeff: Invariance weight.
        var_coeff: Variance weight.
        cov_coeff: Covariance weight.
        eps: Variance epsilon.

    Returns:
        tuple: Weighted ``(inv, var, cov)`` scalars; var and cov are the means of the
        two sides' terms.
    """
    inv = inv_coeff * F.mse_loss(x, y)
    x, y = gather_center(x), gather_center(y)
    var = var_coeff * (variance_term(x, eps) + variance_term(y, eps)) / 2
    cov = cov_coeff * (off_diagonal_square_sum(x).mean() + off_diagonal_square_sum(y).mean()) / 2
    return inv, var, cov


def vicregl_local_loss(maps: Sequence[torch.Tensor],
                       locations: Sequence[torch.Tensor],
                       num_matches: Tuple[int, int] = (20, 4),
                       l2_all_matches: bool = True,
                       inv_coeff: float = 25.0,
                       var_coeff: float = 25.0,
                       cov_coeff: float = 1.0,
                       num_anchor_views: int = 2,
                       eps: float = 1e-4) -> Dict[str, torch.Tensor]:
    """VICRegL's local criterion over V >= 2 views (the authors' ``local_loss``).

    For every pair ``(i, j)``, ``i < num_anchor_views`` and ``j != i``, with
    A = view i and B = view j:

    - feature matching: every position of A paired with its nearest position of
      B in the embedding space (L2), and B with A; all pairs kept
      (``l2_all_matches``; otherwise ``num_matches`` as below);
    - location matching: every position of A paired with the position of B
      whose cell centre is nearest in the original image, keeping the
      ``num_matches[0]`` closest pairs; B -> A keeps ``num_matches[1]``;

    each of the four matched sets gives :func:`matched_vicreg_terms`; a pair's
    term is the mean of its two directions, summed over the two matchings; the
    loss averages the pairs' terms.

    Args:
        maps: V tensors ``(B, S_v, C)``, per-location embeddings (row-major cells).
        locations: V tensors ``(B, S_v, 2)``, cell centres in the original image.
        num_matches: Location pairs kept A -> B and B -> A ((20, 4)).
        l2_all_matches: Keep every feature-matched pair (the authors' default).
        inv_coeff: Invariance weight (25).
        var_coeff: Variance weight (25).
        cov_coeff: Covariance weight (1).
        num_anchor_views: Views paired with every other view (2).
        eps: Variance epsilon (1e-4).

    Returns:
        dict: ``inv``, ``var``, ``cov``, weighted scalars.
    """
    num_views = len(maps)
    if num_views < 2 or len(locations) != num_views or not 1 <= num_anchor_views <= num_views:
        raise ValueError(f'vicregl_local_loss needs >= 2 views with one location grid each, got '
                         f'{num_views} maps, {len(locations)} grids, '
                         f'num_anchor_views={num_anchor_views}')
    for m, loc in zip(maps, locations):
        if m.dim() != 3 or loc.shape != (*m.shape[:2], 2):
            raise ValueError(f'maps must be (B, S, C) with locations (B, S, 2), got '
                             f'{tuple(m.shape)} and {tuple(loc.shape)}')
    l2_matches: Tuple[Optional[int], Optional[int]] = (
        (None, None) if l2_all_matches else tuple(num_matches))
    coeffs = (inv_coeff, var_coeff, cov_coeff, eps)
    totals = [0.0, 0.0, 0.0]
    pairs = [(i, j) for i in range(num_anchor_views) for j in range(num_views) if j != i]
    for i, j in pairs:
        a, b = maps[i], maps[j]
        with torch.no_grad():
            feat_dist = _pairwise_distance(a, b)
            loc_dist = _pairwise_distance(locations[i].to(a.dtype), locations[j].to(a.dtype))
        matchings = (
            (nearest_neighbour_pairs(feat_dist, l2_matches[0]),
             nearest_neighbour_pairs(feat_dist.transpose(1, 2), l2_matches[1])),
            (nearest_neighbour_pairs(loc_dist, num_matches[0]),
             nearest_neighbour_pairs(loc_dist.transpose(1, 2), num_matches[1])),
        )
        for a_to_b, b_to_a in matchings:
            terms_ab = matched_vicreg_terms(*gather_matched_pairs(a, b, a_to_b), *coeffs)
            terms_ba = matched_vicreg_terms(*gather_matched_pairs(b, a, b_to_a), *coeffs)
            for k in range(3):
                totals[k] = totals[k] + (terms_ab[k] + terms_ba[k]) / 2
    return dict(inv=totals[0] / len(pairs), var=totals[1] / len(pairs),
                cov=totals[2] / len(pairs))


@MODELS.register_module()
class VICRegLLocalLoss(nn.Module):
    """Module form of :func:`vicregl_local_loss`.

    Args:
        num_matches: Location pairs kept A -> B and B -> A ((20, 4)).
        l2_all_matches: Keep every feature-matched pair (True, the authors' default).
        inv_coeff: Invariance weight (25).
        var_coeff: Variance weight (25).
        cov_coeff: Covariance weight (1).
        num_anchor_views: Views paired with every other view (the 2 global crops).
        eps: Variance epsilon (1e-4).
    """

    def __init__(self,
                 num_matches: Sequence[int] = (20, 4),
                 l2_all_matches: bool = True,
                 inv_coeff: float = 25.0,
                 var_coeff: float = 25.0,
                 cov_coeff: float = 1.0,
                 num_anchor_views: int = 2,
                 eps: float = 1e-4) -> None:
        super().__init__()
        if len(num_matches) != 2 or min(num_matches) < 1:
            raise ValueError(f'num_matches must be two positive counts (A->B, B->A), got '
                             f'{num_matches}')
        self.num_matches = tuple(int(n) for n in num_matches)
        self.l2_all_matches = l2_all_matches
        self.inv_coeff, self.var_coeff, self.cov_coeff = inv_coeff, var_coeff, cov_coeff
        self.num_anchor_views = num_anchor_views
        self.eps = eps

    def forward(self, maps: Sequence[torch.Tensor],
                locations: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """See :func:`vicregl_local_loss`."""
        return vicregl_local_loss(maps, locations, self.num_matches, self.l2_all_matches,
                                  self.inv_coeff, self.var_coeff, self.cov_coeff,
                                  self.num_anchor_views, self.eps)
