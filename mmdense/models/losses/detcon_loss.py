"""DetCon-B's contrastive loss between mask-pooled predictions and targets of two views."""
from typing import Tuple

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS
from ..utils.distributed import concat_all_gather

__all__ = ['detcon_loss', 'DetConLoss']

# Added to the logits that are removed from the softmax (the authors use the same proxy;
# -inf would give NaN gradients through 0 * -inf in the cross-entropy).
_REMOVED = 1e9


def _rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _one_direction(pred: torch.Tensor, ids: torch.Tensor, ids_other: torch.Tensor,
                   targets_other: torch.Tensor, targets_same: torch.Tensor,
                   image_offset: int, temperature: float) -> torch.Tensor:
    """Loss of the predictions of one view against the targets of both views.

    Args:
        pred: L2-normalised predictions of this view ``(B, M, D)``.
        ids: Their mask ids ``(B, M)``.
        ids_other: Mask ids of the other view ``(B, M)`` (this rank's images).
        targets_other: L2-normalised targets of the other view, global batch ``(G, M, D)``.
        targets_same: L2-normalised targets of this view, global batch ``(G, M, D)``.
        image_offset: Index of this rank's first image in the global batch.
        temperature: Softmax temperature.

    Returns:
        torch.Tensor: Scalar, the weighted cross-entropy averaged over the ``B * M`` ROIs.
    """
    batch, rois, dim = pred.shape
    num_global = targets_other.shape[0]
    flat_pred = pred.reshape(batch * rois, dim)
    # Columns: every (image, mask) of the other view, then every (image, mask) of this view.
    columns = torch.cat([targets_other, targets_same]).reshape(2 * num_global * rois, dim)
    logits = (flat_pred @ columns.t()).reshape(batch, rois, 2, num_global, rois) / temperature

    # Same image: global index of each local image.
    own = torch.arange(batch, device=pred.device) + image_offset
    same_image = (torch.arange(num_global, device=pred.device)[None] == own[:, None])
    same_image = same_image.to(pred.dtype)[:, None, :, None]  # (B, 1, G, 1)
    pos_other = (ids[:, :, None] == ids_other[:, None, :]).to(pred.dtype)  # (B, M, M)
    same_view = (ids[:, :, None] == ids[:, None, :]).to(pred.dtype)  # (B, M, M)

    # Positives: same image, same id, other view. The same-view copies of the ROI's own
    # mask are taken out of the softmax; every other (image, mask, view) is a negative.
    labels = same_image * pos_other[:, :, None, :]  # (B, M, G, M)
    removed = same_image * same_view[:, :, None, :]
    logits = torch.stack([logits[:, :, 0], logits[:, :, 1] - _REMOVED * removed], dim=2)

    num_pos = labels.sum(dim=(2, 3))  # (B, M)
    target = labels / num_pos.clamp(min=1)[:, :, None, None]
    log_prob = F.log_softmax(logits.reshape(batch, rois, -1), dim=-1)
    log_prob_pos = log_prob.reshape(batch, rois, 2, num_global, rois)[:, :, 0]
    cross_entropy = -(target * log_prob_pos).sum(dim=(2, 3))
    # A mask sampled k times counts once in total; a mask absent from the other view not at all.
    weight = (num_pos > 0).to(pred.dtype) / same_view.sum(dim=2)
    return (weight * cross_entropy).mean()


def detcon_loss(pred0: torch.Tensor,
                pred1: torch.Tensor,
                target0: torch.Tensor,
                target1: torch.Tensor,
                ids0: torch.Tensor,
                ids1: torch.Tensor,
                temperature: float = 0.1,
                gather: bool = True) -> torch.Tensor:
    """DetCon-B loss (Henaff et al., ICCV 2021, eq. 3, batched form), summed over both views.

    For ROI ``(b, i)`` of view a (mask id ``ids_a[b, i]``) the softmax runs, at
    temperature ``T`` over cosine similarities, against the targets of every
    (image, mask) of both views of the global batch, except the same-view targets of
    the same image with the same id. Its positives are the other view's targets of the
    same image with the same id, the label spread evenly over them. Each ROI is weighted
    by ``1 / (copies of its id among its view's M samples)``, and by 0 when the id is
    absent from the other view's samples; the weighted cross-entropies are averaged over
    the ``B * M`` ROIs. The result is ``loss(view 0 -> 1) + loss(view 1 -> 0)``.

    Args:
        pred0: Online predictions of view 0 ``(B, M, D)``.
        pred1: Online predictions of view 1 ``(B, M, D)``.
        target0: Target projections of view 0 ``(B, M, D)`` (no gradient needed).
        target1: Target projections of view 1 ``(B, M, D)``.
        ids0: Mask ids of view 0 ``(B, M)``, integers; the target uses the same ids.
        ids1: Mask ids of view 1 ``(B, M)``.
        temperature: Softmax temperature (0.1).
        gather: Gather the targets of every rank as negatives (the authors' cross-replica
            form); False keeps the negatives on this rank. Without a process group both
            are the same.

    Returns:
        torch.Tensor: Scalar loss.
    """
    if pred0.dim() != 3 or not (pred0.shape == pred1.shape == target0.shape == target1.shape):
        raise ValueError('predictions and targets must all be (B, M, D), got '
                         f'{[tuple(t.shape) for t in (pred0, pred1, target0, target1)]}')
    if not (ids0.shape == ids1.shape == pred0.shape[:2]):
        raise ValueError(f'mask ids must be (B, M) = {tuple(pred0.shape[:2])}, got '
                         f'{tuple(ids0.shape)} and {tuple(ids1.shape)}')
    if temperature <= 0:
        raise ValueError(f'temperature must be positive, got {temperature}')
    pred0, pred1 = F.normalize(pred0, dim=-1), F.normalize(pred1, dim=-1)
    target0 = F.normalize(target0.detach(), dim=-1)
    target1 = F.normalize(target1.detach(), dim=-1)
    offset = 0
    if gather:
        offset = _rank() * pred0.shape[0]
        target0, target1 = concat_all_gather(target0), concat_all_gather(target1)
    return (_one_direction(pred0, ids0, ids1, target1, target0, offset, temperature) +
            _one_direction(pred1, ids1, ids0, target0, target1, offset, temperature))


@MODELS.register_module()
class DetConLoss(nn.Module):
    """Module form of :func:`detcon_loss`.

    Args:
        temperature: Softmax temperature (0.1 in DetCon-B).
        gather: Use the targets of every rank as negatives.
    """

    def __init__(self, temperature: float = 0.1, gather: bool = True) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        self.temperature = temperature
        self.gather = gather

    def forward(self, preds: Tuple[torch.Tensor, torch.Tensor],
                targets: Tuple[torch.Tensor, torch.Tensor],
                ids: Tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """See :func:`detcon_loss`.

        Args:
            preds: Online predictions of the two views, each ``(B, M, D)``.
            targets: Target projections of the two views, each ``(B, M, D)``.
            ids: Mask ids of the two views, each ``(B, M)``.

        Returns:
            torch.Tensor: Scalar loss.
        """
        return detcon_loss(preds[0], preds[1], targets[0], targets[1], ids[0], ids[1],
                           temperature=self.temperature, gather=self.gather)
