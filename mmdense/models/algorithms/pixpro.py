"""PixPro (Xie et al., CVPR 2021): pixel-to-propagation consistency."""
from typing import Dict, List, Optional

import torch

from mmdense.registry import MODELS
from ..utils.view_geometry import stack_view_boxes
from .base import BaseMomentumSelfSupervisor


@MODELS.register_module()
class PixPro(BaseMomentumSelfSupervisor):
    """PixPro: propagated online pixels regress momentum pixels at the same place.

    Each view goes through the online encoder (``backbone``), projector
    (``neck``, an :class:`MLP2dNeck`) and pixel propagation module (``ppm``);
    the other view through the momentum copies of encoder and projector. The
    pixel consistency loss pairs cells whose centres, mapped back through the
    view boxes, lie close in the original image; it is applied both ways
    (view 1 -> 2 and 2 -> 1) and summed, as in the reference.

    The optional instance branch (``loss_instance_weight > 0``) adds a
    BYOL-style loss (``instance_loss``, :class:`NegativeCosineLoss`): online
    ``instance_neck`` + ``instance_predictor`` on the C5 map, average-pooled,
    against the pooled momentum ``instance_neck``.

    The EMA coefficient is ``self.momentum``; :class:`MomentumScheduleHook`
    raises it from ``base_momentum`` (0.99) to 1 on a cosine over training.
    Without the hook it stays at ``momentum``.

    Args:
        backbone: Backbone config (ResNet C5, ``out_indices=(3, )``).
        neck: Projector config, ``MLP2dNeck(2048, 4096, 256)``.
        ppm: :class:`PixelPropagationModule` config.
        loss: Pixel loss config, :class:`PixelConsistencyLoss`.
        momentum: Starting EMA coefficient (0.99).
        loss_instance_weight: Weight of the instance loss (0 disables the branch).
        instance_neck: Instance projector config (``MLP2dNeck``); defaults to the
            pixel projector's config.
        instance_predictor: Instance predictor config, ``MLP2dNeck(256, 4096, 256)``
            by default (input width = projector output width).
        instance_loss: Instance loss config, :class:`NegativeCosineLoss` by default.
        data_preprocessor: Preprocessor config.
        init_cfg: MMEngine initialisation config.
    """

    default_loss = dict(type='PixelConsistencyLoss')

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 ppm: dict,
                 loss: Optional[dict] = None,
                 momentum: float = 0.99,
                 loss_instance_weight: float = 0.0,
                 instance_neck: Optional[dict] = None,
                 instance_predictor: Optional[dict] = None,
                 instance_loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, neck, loss, momentum=momentum,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if loss_instance_weight < 0:
            raise ValueError(f'loss_instance_weight must be >= 0, got {loss_instance_weight}.')
        self.ppm = MODELS.build(ppm)
        self.loss_instance_weight = loss_instance_weight
        if loss_instance_weight > 0:
            self.instance_neck = MODELS.build(instance_neck if instance_neck is not None else neck)
            width = self.instance_neck.out_channels
            if instance_predictor is None:
                instance_predictor = dict(
                    type='MLP2dNeck', in_channels=width, hid_channels=4096, out_channels=width)
            self.instance_predictor = MODELS.build(instance_predictor)
            self.instance_criterion = MODELS.build(
                instance_loss if instance_loss is not None else dict(type='NegativeCosineLoss'))
            self.add_momentum_copy('instance_neck')

    @staticmethod
    def _instance_embedding(x: torch.Tensor) -> torch.Tensor:
        """Spatial mean, ``(N, C)`` (the reference's 7x7 AvgPool at 224)."""
        return x.mean(dim=(2, 3))

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        """Symmetric pixel consistency (plus the instance loss when enabled).

        Args:
            inputs: Two views, each ``(N, 3, H, W)``.
            data_samples: One per image, with ``view_boxes`` (2, 4).

        Returns:
            dict: ``loss_pixpro`` and, with the instance branch,
            ``loss_instance`` (already multiplied by its weight).
        """
        views = self._check_views(inputs)[:2]
        coords = stack_view_boxes(data_samples, 2)
        feats = [self.backbone(v)[-1] for v in views]
        preds = [self.ppm(self.neck(f)) for f in feats]

        with torch.no_grad():
            self.update_momentum()
            key_feats = [self.momentum_backbone(v)[-1] for v in views]
            targets = [self.momentum_neck(f) for f in key_feats]

        loss_pixpro = (self.criterion(preds[0], targets[1], coords[0], coords[1]) +
                       self.criterion(preds[1], targets[0], coords[1], coords[0]))
        losses = dict(loss_pixpro=loss_pixpro)
        if self.loss_instance_weight > 0:
            online = [self._instance_embedding(self.instance_predictor(self.instance_neck(f)))
                      for f in feats]
            with torch.no_grad():
                keys = [self._instance_embedding(self.momentum_instance_neck(f)) for f in key_feats]
            # BYOL regression both ways.
            loss_instance = (self.instance_criterion(online[0], keys[1]) +
                             self.instance_criterion(online[1], keys[0]))
            losses['loss_instance'] = self.loss_instance_weight * loss_instance
        return losses
