"""The decode head of the frozen linear segmentation probe (VICRegL's protocol) for mmseg 1.x.

VICRegL (Bardes et al., NeurIPS 2022) measures dense features with a *linear* probe: the
backbone is frozen and the only trained parts are one normalisation layer over the res5
channels and a 1x1 convolution to the classes, with dropout in between. Their ``LinearHead``
(``segmentation/models/linear_head.py`` in facebookresearch/VICRegL) is written for mmseg
0.x's ``HEADS`` registry; this is the same computation as an mmseg 1.x ``BaseDecodeHead``, so
it trains, evaluates and predicts with mmseg 1.x's ``EncoderDecoder``, losses and metrics.

Differences from the source, all without effect on the computation of a ResNet probe: the
norm layer comes from ``norm_cfg`` (``SyncBN`` in the benchmark config, as the source's
hard-wired ``nn.SyncBatchNorm``; plain ``BN`` for CPU runs) instead of being fixed, and the
source's handling of ViT class tokens (lists and 2-D inputs) is left out: a ResNet gives one
4-D map per stage.
"""
from typing import Optional, Sequence

from mmcv.cnn import build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor, nn

from mmdense.registry import MODELS


@MODELS.register_module()
class LinearProbeHead(BaseDecodeHead):
    """Norm -> dropout -> 1x1 conv on one backbone stage: a linear per-pixel classifier.

    In training mode the norm uses batch statistics and learns an affine map; in eval mode
    the whole head is one affine map per pixel followed by the classifier, i.e. linear in
    the frozen features.

    Args:
        in_channels: Channels of the selected input (2048 for R50 res5, 512 for R18).
        channels: Channels before ``conv_seg``; must equal ``in_channels`` (nothing
            changes the width between the norm and the classifier). ``None`` takes
            ``in_channels``.
        norm_cfg: The norm over ``in_channels``, e.g. ``dict(type='SyncBN',
            requires_grad=True)``; ``None`` is ``dict(type='BN', requires_grad=True)``.
        **kwargs: The other arguments of mmseg's ``BaseDecodeHead`` (``num_classes``,
            ``in_index``, ``dropout_ratio`` (0.1 by default, as in VICRegL),
            ``loss_decode``, ``align_corners``, ``init_cfg``, ...). ``input_transform``
            must stay ``None``: the probe reads one stage.

    Shapes:
        ``forward(inputs)`` takes the backbone outputs (a sequence of (N, C_i, H_i, W_i))
        and returns (N, num_classes, H, W) logits at the resolution of ``inputs[in_index]``
        (H/8 x W/8 of the image for the dilated, output-stride-8 ResNet).
    """

    def __init__(self, in_channels: int, channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None, **kwargs) -> None:
        if kwargs.get('input_transform') is not None:
            raise ValueError('LinearProbeHead reads one backbone stage; got input_transform='
                             f'{kwargs["input_transform"]!r} (leave it None and pick the stage '
                             'with in_index).')
        channels = in_channels if channels is None else channels
        if channels != in_channels:
            raise ValueError(f'LinearProbeHead has no layer that changes the width: channels '
                             f'({channels}) must equal in_channels ({in_channels}).')
        norm_cfg = norm_cfg or dict(type='BN', requires_grad=True)
        super().__init__(in_channels, channels, norm_cfg=norm_cfg, **kwargs)
        self.norm_name, norm = build_norm_layer(norm_cfg, in_channels)
        self.add_module(self.norm_name, norm)

    @property
    def norm(self) -> nn.Module:
        """The norm layer over the input channels (``bn`` for BN/SyncBN)."""
        return getattr(self, self.norm_name)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Classify every position of the selected stage.

        Args:
            inputs: Backbone outputs; ``inputs[in_index]`` is (N, in_channels, H, W).

        Returns:
            Tensor: Logits (N, num_classes, H, W).
        """
        x = self._transform_inputs(inputs)
        # BaseDecodeHead.cls_seg is dropout (Dropout2d, when dropout_ratio > 0) then conv_seg.
        return self.cls_seg(self.norm(x))
