"""SlotCon (Wen et al., NeurIPS 2022): contrastive learning from data-driven semantic slots."""
from typing import Dict, List, Optional

import torch
import torch.distributed as dist

from mmdense.registry import MODELS
from ..utils.view_geometry import stack_view_boxes
from .base import BaseMomentumSelfSupervisor


@MODELS.register_module()
class SlotCon(BaseMomentumSelfSupervisor):
    """SlotCon: pixels grouped by learnable prototypes into slots, slots contrasted across views.

    Each view goes through the student (``backbone``, projector ``neck``, a
    :class:`DINOProjector2d`, and ``grouping``, a :class:`SemanticGrouping`) and
    the teacher (their momentum copies ``momentum_backbone``, ``momentum_neck``,
    ``momentum_grouping``: encoder, projector and prototypes follow the EMA).
    Grouping gives slots ``(N, K, C)`` and prototype scores ``(N, K, H, W)``.

    * Group loss (``group_loss``, :class:`SlotConGroupLoss`): the student's scores
      of view 1 distil the teacher's of view 2 (and 2 from 1) on the two views'
      overlap, each map resampled there with RoIAlign and un-flipped; the
      teacher's are centred with ``center``, an EMA (``center_momentum`` 0.9) of
      the teacher's mean score over all pixels of both views and all ranks,
      updated after the loss of the step.
    * Slot contrastive loss (``loss``, :class:`SlotContrastiveLoss`): student slots
      of view 1, through ``predictor`` (:class:`SlotPredictor`), against the
      teacher slots of view 2 (and 2 against 1).

    Total ``w (G12 + G21) + (1 - w) (C12 + C21)``, ``w = group_loss_weight`` (0.5),
    returned as ``loss_group`` and ``loss_slot`` (already weighted).
    The EMA coefficient is ``self.momentum``, updated before the teacher's forward
    as in the authors' code; :class:`MomentumScheduleHook` raises it from 0.99 to 1.

    Transfer takes the teacher encoder (``transfer_encoder``), as the authors'
    converters do (``module.encoder_k``).

    Differences from the authors' code (CVMI-Lab/SlotCon ``models/slotcon.py``):
    when no slot (or only one, which the predictor's BN cannot normalise) is
    present in both views on a single process, the contrastive term is a zero
    (the predictor run on all query slots, times 0) instead of a NaN or a BN
    error; the authors' backbone is torchvision-style, ours mmdet's ResNet
    with the same keys and initialisation (fan-out normal, zero-init residual);
    the overlap and flips come from the recorded view boxes (the authors pass the
    overlap box and flip flags: same RoIAlign inputs); the EMA schedule follows
    the runner's iteration. ``configs/slotcon/README.md`` lists the data side.

    Args:
        backbone: Backbone config (ResNet C5, ``out_indices=(3, )``).
        neck: Projector config, ``DINOProjector2d(2048, 4096, 256)``.
        grouping: :class:`SemanticGrouping` config (``num_prototypes`` 256 / 2048).
        predictor: :class:`SlotPredictor` config (256-4096-4096-256).
        loss: Slot contrastive loss config, :class:`SlotContrastiveLoss` (T 0.2).
        group_loss: Group loss config, :class:`SlotConGroupLoss` (0.1 / 0.07).
        group_loss_weight: ``w`` (0.5).
        center_momentum: EMA coefficient of the teacher centre (0.9).
        momentum: Starting EMA coefficient of the teacher (0.99).
        data_preprocessor: Preprocessor config.
        init_cfg: MMEngine initialisation config.
    """

    default_loss = dict(type='SlotContrastiveLoss', temperature=0.2)
    transfer_encoder = 'momentum_backbone'

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 grouping: dict,
                 predictor: dict,
                 loss: Optional[dict] = None,
                 group_loss: Optional[dict] = None,
                 group_loss_weight: float = 0.5,
                 center_momentum: float = 0.9,
                 momentum: float = 0.99,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, neck, loss, momentum=momentum,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0.0 <= group_loss_weight <= 1.0 or not 0.0 <= center_momentum <= 1.0:
            raise ValueError('group_loss_weight and center_momentum must lie in [0, 1], got '
                             f'{group_loss_weight} and {center_momentum}')
        self.grouping = MODELS.build(grouping)
        self.predictor = MODELS.build(predictor)
        self.group_criterion = MODELS.build(
            group_loss if group_loss is not None else dict(type='SlotConGroupLoss'))
        self.group_loss_weight = group_loss_weight
        self.center_momentum = center_momentum
        self.add_momentum_copy('grouping')
        # A buffer, so checkpoints and resumed runs carry it.
        self.register_buffer('center', torch.zeros(1, self.grouping.num_prototypes))

    @torch.no_grad()
    def update_center(self, teacher_scores: torch.Tensor) -> None:
        """EMA of the teacher's mean score over pixels, images and ranks.

        Args:
            teacher_scores: ``(M, K)``, one row per pixel.
        """
        batch_center = teacher_scores.sum(dim=0, keepdim=True)
        count = teacher_scores.new_tensor(float(teacher_scores.shape[0]))
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(batch_center)
            count = count * dist.get_world_size()
        batch_center = batch_center / count
        self.center.mul_(self.center_momentum).add_(batch_center * (1 - self.center_momentum))

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        """Symmetric group and slot contrastive losses.

        Args:
            inputs: Two views, each ``(N, 3, H, W)``.
            data_samples: One per image, with ``view_boxes`` (2, 4).

        Returns:
            dict: ``loss_group`` and ``loss_slot``, weighted.
        """
        views = self._check_views(inputs)[:2]
        boxes = stack_view_boxes(data_samples, 2)
        student = [self.grouping(self.neck(self.backbone(v)[-1])) for v in views]
        with torch.no_grad():
            self.update_momentum()
            teacher = [self.momentum_grouping(self.momentum_neck(self.momentum_backbone(v)[-1]))
                       for v in views]
        (q1, sq1), (q2, sq2) = student
        (k1, sk1), (k2, sk2) = teacher
        center = self.center.clone()
        loss_group = (self.group_criterion(sq1, sk2, boxes[0], boxes[1], center) +
                      self.group_criterion(sq2, sk1, boxes[1], boxes[0], center))
        self.update_center(torch.cat([sk1, sk2]).permute(0, 2, 3, 1).flatten(0, 2))
        loss_slot = (self.criterion(q1, k2, sq1, sk2, self.predictor) +
                     self.criterion(q2, k1, sq2, sk1, self.predictor))
        weight = self.group_loss_weight
        return dict(loss_group=weight * loss_group, loss_slot=(1 - weight) * loss_slot)
