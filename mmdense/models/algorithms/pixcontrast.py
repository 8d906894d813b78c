"""PixContrast (Xie et al., CVPR 2021): pixel-level contrastive learning."""
from typing import Dict, List, Optional

import torch

from mmdense.registry import MODELS
from ..data_preprocessors.selfsup_data_preprocessor import stack_view_boxes
from ..utils import build_momentum_copy, momentum_update
from .base import BaseSelfSupervisor


@MODELS.register_module()
class PixContrast(BaseSelfSupervisor):
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

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 loss: Optional[dict] = None,
                 momentum: float = 0.99,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone, neck, None, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'momentum must lie in [0, 1] (0.99 in PixPro), got {momentum}.')
        self.pixel_loss = MODELS.build(loss if loss is not None else dict(type='PixContrastLoss'))
        self.base_momentum = momentum
        self.momentum = momentum
        self.momentum_backbone = build_momentum_copy(self.backbone)
        self.momentum_neck = build_momentum_copy(self.neck)

    def init_weights(self) -> None:
        """Initialise the online networks, then start the momentum ones as their copies."""
        super().init_weights()
        for online, momentum in ((self.backbone, self.momentum_backbone),
                                 (self.neck, self.momentum_neck)):
            momentum.load_state_dict(online.state_dict())

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
            momentum_update(self.momentum_backbone, self.backbone, self.momentum)
            momentum_update(self.momentum_neck, self.neck, self.momentum)
            keys = [self.momentum_neck(self.momentum_backbone(v)) for v in views]
        loss = (self.pixel_loss(queries[0], keys[1], coords[0], coords[1]) +
                self.pixel_loss(queries[1], keys[0], coords[1], coords[0]))
        return dict(loss_pixcontrast=loss)
