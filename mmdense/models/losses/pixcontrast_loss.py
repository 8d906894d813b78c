"""PixContrast: pixel-level InfoNCE over PixPro's positive pairs."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS
from ..utils.view_geometry import cell_distance, check_view_maps


def pixcontrast_loss(query: torch.Tensor, key: torch.Tensor, coord_q: torch.Tensor,
                     coord_k: torch.Tensor, pos_ratio: float = 0.7, neg_ratio: float = 1.0,
                     temperature: float = 0.3) -> torch.Tensor:
    """Multi-positive InfoNCE of every query cell against the key view's cells.

    For query cell ``i``, key cells of the same image closer than ``pos_ratio``
    bin diagonals (:func:`cell_distance`) are its positives ``P_i``, those at
    ``neg_ratio`` or farther its negatives ``N_i`` (the reference's
    ``--pixpro-neg-ratio``, 1.0; cells in between are ignored), and
    ``l_i = -log(sum_{P_i} exp(c_ij / t) / sum_{P_i + N_i} exp(c_ij / t))``
    with ``c_ij`` the cosine similarity, the paper's Eq. (1). The loss averages
    ``l_i`` over the query cells that have at least one positive.

    Args:
        query: Online projections ``(N, C, Hq, Wq)``.
        key: Momentum projections ``(N, C, Hk, Wk)``.
        coord_q: Query view boxes ``(N, 4)``.
        coord_k: Key view boxes ``(N, 4)``.
        pos_ratio: Positive threshold in bin diagonals (0.7).
        neg_ratio: Negative threshold in bin diagonals (1.0), ``>= pos_ratio``.
        temperature: Softmax temperature ``t`` (0.3 in the paper).

    Returns:
        torch.Tensor: Scalar loss.
    """
    check_view_maps(query, key)
    dist = cell_distance(coord_q.to(query.dtype), coord_k.to(query.dtype),
                         tuple(query.shape[2:]), tuple(key.shape[2:]))
    pos, used = dist < pos_ratio, (dist < pos_ratio) | (dist >= neg_ratio)
    query = F.normalize(query, dim=1).flatten(2)
    key = F.normalize(key, dim=1).flatten(2)
    logits = torch.bmm(query.transpose(1, 2), key) / temperature  # (N, Sq, Sk)
    has_pos = pos.any(dim=2)
    # Rows without positives are dropped below; filling them in keeps every
    # logsumexp finite, since an all -inf row would send NaN through backward.
    pos, used = pos | ~has_pos[..., None], used | ~has_pos[..., None]
    # -inf outside a set makes logsumexp sum over that set only.
    log_all = torch.logsumexp(logits.masked_fill(~used, float('-inf')), dim=2)
    log_pos = torch.logsumexp(logits.masked_fill(~pos, float('-inf')), dim=2)
    if not has_pos.any():
        return logits.sum() * 0  # keeps the graph; no pair to learn from
    return (log_all - log_pos)[has_pos].mean()


@MODELS.register_module()
class PixContrastLoss(nn.Module):
    """Module form of :func:`pixcontrast_loss`.

    Args:
        pos_ratio: Positive threshold in bin diagonals (0.7).
        neg_ratio: Negative threshold in bin diagonals (1.0).
        temperature: Softmax temperature (0.3).
    """

    def __init__(self, pos_ratio: float = 0.7, neg_ratio: float = 1.0,
                 temperature: float = 0.3) -> None:
        super().__init__()
        if pos_ratio <= 0 or temperature <= 0 or neg_ratio < pos_ratio:
            raise ValueError('need pos_ratio > 0, neg_ratio >= pos_ratio and temperature > 0 '
                             f'(0.7, 1.0 and 0.3 in the paper), got {pos_ratio}, {neg_ratio} '
                             f'and {temperature}')
        self.pos_ratio = pos_ratio
        self.neg_ratio = neg_ratio
        self.temperature = temperature

    def forward(self, query: torch.Tensor, key: torch.Tensor, coord_q: torch.Tensor,
                coord_k: torch.Tensor) -> torch.Tensor:
        """See :func:`pixcontrast_loss`."""
        return pixcontrast_loss(query, key, coord_q, coord_k, self.pos_ratio, self.neg_ratio,
                                self.temperature)
