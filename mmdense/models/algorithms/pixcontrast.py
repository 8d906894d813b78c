"""PixContrast (Xie et al., CVPR 2021): pixel-level contrastive learning."""
from typing import Dict, List, Optional

import torch

from mmdense.registry import MODELS
from ..utils.view_geometry import stack_view_boxes
from .base import BaseMomentumSelfSupervisor


@MODELS.register_module()
class PixContrast(BaseMomentumSelfSupervisor):
    """PixContrast: InfoNCE between online and momentum pixels of two views.

    Online ``backbone`` + ``neck`` (an :class:`MLP2dNeck` projector) encode one
    view, their momentum copies the other; positives are the cell pairs of
    :func:`pixel_positive_mask`, negatives the other key cells of the same
    image (:class:`PixContrastLoss`). Applied both ways and summed. The
    momentum follows :class:`MomentumScheduleHook` like PixPro's.

    Args:
        backbone: Backbone config (ResNet C5).
        neck: Projector config, ``MLP2dNeck(2048, 4096, 256)``.
        loss: :class:`PixContrastLoss` config (``pos_ratio=0.7, temperature=0.3``).
        momentum: Starting EMA coefficient (0.99).
        data_preprocessor: Preprocessor config.
        init_cfg: MMEngine initialisation config.
    """

    default_loss = dict(type='PixContrastLoss')

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        """Symmetric pixel InfoNCE.

        Args:
            inputs: Two views, each ``(N, 3, H, W)``.
            data_samples: One per image, with ``view_boxes`` (2, 4).

        Returns:
            dict: ``loss_pixcontrast``.
        """
        views = self._check_views(inputs)[:2]
        coords = stack_view_boxes(data_samples, 2)
        queries = [self.neck(self.backbone(v)) for v in views]
        with torch.no_grad():
            self.update_momentum()
            keys = [self.momentum_neck(self.momentum_backbone(v)) for v in views]
        loss = (self.criterion(queries[0], keys[1], coords[0], coords[1]) +
                self.criterion(queries[1], keys[0], coords[1], coords[0]))
        return dict(loss_pixcontrast=loss)
