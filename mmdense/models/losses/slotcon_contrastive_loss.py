"""SlotCon's slot contrastive loss: a student slot predicts the teacher's slot of the same
prototype in the other view, against every other teacher slot of the global batch."""
from typing import Callable, Optional

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS
from ..utils.distributed import concat_all_gather


def slot_presence(scores: torch.Tensor) -> torch.Tensor:
    """Which prototypes win (are the argmax of) at least one pixel of each image.

    Args:
        scores: ``(N, K, H, W)``.

    Returns:
        torch.Tensor: Bool ``(N, K)``.
    """
    winners = scores.argmax(dim=1).flatten(1)  # (N, H*W)
    present = torch.zeros(scores.shape[:2], dtype=torch.bool, device=scores.device)
    return present.scatter_(1, winners, True)


def slot_contrastive_loss(query_slots: torch.Tensor,
                          key_slots: torch.Tensor,
                          query_scores: torch.Tensor,
                          key_scores: torch.Tensor,
                          temperature: float = 0.2,
                          predictor: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
                          ) -> torch.Tensor:
    """InfoNCE over the slots present in both views, times ``2 T``.

    A slot (image ``n``, prototype ``k``) takes part when ``k`` wins a pixel in
    both the query (student) view and the key (teacher) view of image ``n``
    (:func:`slot_presence` of the full, un-aligned maps). Its query goes through
    ``predictor`` (only the selected slots, so a BN in it sees those) and is
    L2-normalised; the keys are the L2-normalised teacher slots present in the
    key view, gathered from every rank in rank order; the positive is the key
    of the same image and prototype. ``CE * 2 T`` as the authors scale it.

    Args:
        query_slots: Student slots of one view ``(N, K, C)``.
        key_slots: Teacher slots of the other view ``(N, K, C)``.
        query_scores: Student scores of the query view ``(N, K, H, W)``.
        key_scores: Teacher scores of the key view ``(N, K, H, W)``.
        temperature: ``T`` (0.2).
        predictor: Applied to the selected query slots ``(M, C)``; None: identity.

    Returns:
        torch.Tensor: Scalar loss. On a single process without a selected slot
        (or with only one when there is a predictor: its BN cannot normalise one
        row), where the authors' code gives NaN or fails: a zero, computed from
        the predictor applied to every query slot, so that all parameters stay in
        the graph (zero gradients) and its BN statistics move as in any step.
    """
    local = query_slots.shape[0] * query_slots.shape[1]
    queries = query_slots.flatten(0, 1)
    keys = F.normalize(key_slots.flatten(0, 1), dim=1)
    mask_k = slot_presence(key_scores).flatten()
    idxs_q = (slot_presence(query_scores).flatten() & mask_k).nonzero().squeeze(-1)
    distributed = dist.is_available() and dist.is_initialized()
    if not distributed and idxs_q.numel() < (2 if predictor is not None else 1):
        everything = predictor(queries) if predictor is not None else queries
        return everything.sum() * 0
    mask_all = concat_all_gather(mask_k.long())
    keys_all = concat_all_gather(keys)[mask_all.nonzero().squeeze(-1)]
    selected = queries[idxs_q]
    if predictor is not None:
        selected = predictor(selected)
    logits = F.normalize(selected, dim=1) @ keys_all.t() / temperature
    rank = dist.get_rank() if distributed else 0
    # Position of each selected slot's own key among the gathered present keys.
    labels = mask_all.cumsum(0)[idxs_q + local * rank] - 1
    return F.cross_entropy(logits, labels) * (2 * temperature)


@MODELS.register_module()
class SlotContrastiveLoss(nn.Module):
    """Module form of :func:`slot_contrastive_loss`.

    Args:
        temperature: ``T`` (0.2).
    """

    def __init__(self, temperature: float = 0.2) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be positive (0.2 in SlotCon), got {temperature}')
        self.temperature = temperature

    def forward(self, query_slots: torch.Tensor, key_slots: torch.Tensor,
                query_scores: torch.Tensor, key_scores: torch.Tensor,
                predictor: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
                ) -> torch.Tensor:
        """See :func:`slot_contrastive_loss`."""
        return slot_contrastive_loss(query_slots, key_slots, query_scores, key_scores,
                                     self.temperature, predictor)
