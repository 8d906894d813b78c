"""The res5 RoI head of the MoCo/DenseCL C4 detection protocol.

MoCo's detectron2 configs (``Base-RCNN-C4-BN.yaml``, ``Res5ROIHeadsExtraNorm``),
which DenseCL and PixPro reuse for VOC and COCO C4 transfer, put one extra
normalisation layer after the res5 stage of the RoI head: with a self-supervised
initialisation the res5 output is not calibrated for the box head, and the extra
(Sync)BN normalises it. mmdet's ``ResLayer`` shared head has no such layer, so
this subclass adds it; everything else, including the ``layer4.*`` parameter
names that a ``Pretrained`` init fills from a backbone checkpoint, is mmdet's.
"""
from typing import Optional

from mmcv.cnn import build_norm_layer
from mmdet.models.roi_heads.shared_heads import ResLayer
from torch import Tensor

from mmdense.registry import MODELS


@MODELS.register_module()
class ResLayerExtraNorm(ResLayer):
    """mmdet's res5 ``ResLayer`` shared head followed by one norm layer.

    Args:
        depth: ResNet depth (18, 34, 50, 101, 152).
        stage: Index of the ResNet stage the head holds (3 for res5).
        norm_cfg: Norm of the res layer and of the extra norm, e.g.
            ``dict(type='SyncBN', requires_grad=True)``.
        **kwargs: The other arguments of mmdet's ``ResLayer`` (``stride``,
            ``dilation``, ``style``, ``norm_eval``, ``init_cfg``, ...).

    Shapes:
        Input (R, C_in, 14, 14) RoI features; output (R, C_out, 7, 7) with
        ``C_out = 64 * 2**stage * expansion`` (2048 for R50, 512 for R18).
    """

    def __init__(self, depth: int, stage: int = 3, norm_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        norm_cfg = norm_cfg or dict(type='BN', requires_grad=True)
        super().__init__(depth, stage=stage, norm_cfg=norm_cfg, **kwargs)
        layer = getattr(self, f'layer{stage + 1}')
        out_channels = layer[-1].conv3.out_channels if hasattr(
            layer[-1], 'conv3') else layer[-1].conv2.out_channels
        # Named ``extra_norm`` so that it is not mistaken for a res5 weight: a
        # backbone checkpoint has no such key and the layer keeps its default
        # (weight 1, bias 0) initialisation, as in MoCo's detectron2 head.
        self.extra_norm_name, extra_norm = build_norm_layer(norm_cfg, out_channels,
                                                            postfix='_extra')
        self.add_module(self.extra_norm_name, extra_norm)

    def forward(self, x: Tensor) -> Tensor:
        """Run res5 then the extra norm. Args: x (R, C_in, H, W). Returns (R, C_out, H/2, W/2)."""
        return getattr(self, self.extra_norm_name)(super().forward(x))
