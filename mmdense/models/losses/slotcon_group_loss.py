"""SlotCon's group loss: the student's prototype assignment of each overlap pixel distils the
teacher's, after both score maps are resampled onto the two views' overlap."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import roi_align

from mmdense.registry import MODELS


def overlap_in_view(box: torch.Tensor, other: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Where the overlap of two views lies in the first view, as that view is displayed.

    View boxes ``(x1, y1, x2, y2)`` are normalised to the original image, a
    flipped view having ``x1 > x2`` (``y1 > y2`` vertically), as the crop and flip
    transforms record them. The overlap is the intersection of the two
    un-flipped boxes, not clamped: crops that do not overlap give a box of
    negative width, which RoIAlign samples as zeros, as in the authors' code. In
    a flipped view the overlap's corners swap, which is the authors'
    ``x -> 1 - x`` of the flipped crop's coordinates.

    Args:
        box: This view's boxes ``(N, 4)``.
        other: The other view's boxes ``(N, 4)``.

    Returns:
        tuple: The overlap in this view's normalised coordinates ``(N, 4)``, and
        its flips ``(N, 2)`` (bool, horizontal and vertical).
    """
    lo = torch.maximum(torch.minimum(box[:, :2], box[:, 2:]),
                       torch.minimum(other[:, :2], other[:, 2:]))
    hi = torch.minimum(torch.maximum(box[:, :2], box[:, 2:]),
                       torch.maximum(other[:, :2], other[:, 2:]))
    origin, extent = box[:, :2], box[:, 2:] - box[:, :2]
    start, end = (lo - origin) / extent, (hi - origin) / extent
    flipped = box[:, :2] > box[:, 2:]
    roi = torch.cat([torch.where(flipped, end, start), torch.where(flipped, start, end)], dim=1)
    return roi, flipped


def align_to_overlap(scores: torch.Tensor, box: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """Resample a view's score map onto the overlap with the other view, un-flipped.

    RoIAlign (``aligned=True``, adaptive sampling) of the overlap box at the
    map's own ``H x W`` resolution, then a flip back of flipped views, so that
    cell ``(i, j)`` of both views' outputs sees the same place of the image.

    Args:
        scores: ``(N, K, H, W)`` map of this view.
        box: This view's boxes ``(N, 4)``.
        other: The other view's boxes ``(N, 4)``.

    Returns:
        torch.Tensor: ``(N, K, H, W)``.
    """
    n, _, h, w = scores.shape
    # Box arithmetic in at least float32: half-precision scores (AMP) would move the samples.
    dtype = torch.promote_types(scores.dtype, torch.float32)
    roi, flipped = overlap_in_view(box.to(dtype), other.to(dtype))
    scale = roi.new_tensor([w, h, w, h])
    rois = torch.cat([torch.arange(n, dtype=dtype, device=roi.device)[:, None], roi * scale], 1)
    aligned = roi_align(scores.to(dtype), rois, (h, w), spatial_scale=1.0, sampling_ratio=-1,
                        aligned=True).to(scores.dtype)
    out = []
    for feat, (flip_x, flip_y) in zip(aligned, flipped.tolist()):
        dims = [d for d, f in ((-1, flip_x), (-2, flip_y)) if f]
        out.append(feat.flip(dims) if dims else feat)
    return torch.stack(out)


def slotcon_group_loss(student: torch.Tensor, teacher: torch.Tensor, center: torch.Tensor,
                       student_temp: float = 0.1, teacher_temp: float = 0.07) -> torch.Tensor:
    """Cross-entropy of the centred, sharpened teacher assignment against the student's.

    ``mean_p sum_k -softmax((t_p - c) / T_t)_k * log_softmax(s_p / T_s)_k``.

    Args:
        student: Student scores ``(M, K)`` (one row per pixel).
        teacher: Teacher scores ``(M, K)``.
        center: Teacher centre ``(1, K)``.
        student_temp: ``T_s`` (0.1).
        teacher_temp: ``T_t`` (0.07).

    Returns:
        torch.Tensor: Scalar loss.
    """
    if student.shape != teacher.shape or student.dim() != 2:
        raise ValueError(f'student and teacher scores must be (M, K) alike, got '
                         f'{tuple(student.shape)} and {tuple(teacher.shape)}')
    log_q = F.log_softmax(student / student_temp, dim=-1)
    p = F.softmax((teacher - center) / teacher_temp, dim=-1)
    return torch.sum(-p * log_q, dim=-1).mean()


@MODELS.register_module()
class SlotConGroupLoss(nn.Module):
    """Module form of :func:`slotcon_group_loss` on two views' score maps.

    Both maps are first resampled onto the views' overlap
    (:func:`align_to_overlap`); every overlap cell is one row.

    Args:
        student_temp: Student temperature (0.1).
        teacher_temp: Teacher temperature (0.07).
    """

    def __init__(self, student_temp: float = 0.1, teacher_temp: float = 0.07) -> None:
        super().__init__()
        if student_temp <= 0 or teacher_temp <= 0:
            raise ValueError(f'temperatures must be positive, got {student_temp}, {teacher_temp}')
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp

    def forward(self, student_scores: torch.Tensor, teacher_scores: torch.Tensor,
                student_boxes: torch.Tensor, teacher_boxes: torch.Tensor,
                center: torch.Tensor) -> torch.Tensor:
        """Group loss of the student's view against the teacher's other view.

        Args:
            student_scores: Student scores of view a ``(N, K, H, W)``.
            teacher_scores: Teacher scores of view b ``(N, K, H, W)``.
            student_boxes: View a's boxes ``(N, 4)``.
            teacher_boxes: View b's boxes ``(N, 4)``.
            center: Teacher centre ``(1, K)``.

        Returns:
            torch.Tensor: Scalar loss.
        """
        if student_scores.shape != teacher_scores.shape:
            raise ValueError('the two views\' score maps must have the same shape, got '
                             f'{tuple(student_scores.shape)} and {tuple(teacher_scores.shape)}')
        student = align_to_overlap(student_scores, student_boxes, teacher_boxes)
        teacher = align_to_overlap(teacher_scores, teacher_boxes, student_boxes)
        rows = student_scores.shape[1]
        return slotcon_group_loss(
            student.permute(0, 2, 3, 1).reshape(-1, rows),
            teacher.permute(0, 2, 3, 1).reshape(-1, rows), center, self.student_temp,
            self.teacher_temp)
