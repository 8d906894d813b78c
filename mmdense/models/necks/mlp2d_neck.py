"""Per-pixel MLP (1x1 convolutions): PixPro's projector and predictor."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class MLP2dNeck(BaseModule):
    """``conv1x1 -> BN -> ReLU -> conv1x1`` applied at every location of a feature map.

    PixPro's projector is ``MLP2dNeck(2048, 4096, 256)`` on the C5 map, its
    instance-branch predictor ``MLP2dNeck(256, 4096, 256)``. Convolutions carry
    biases, as in the reference.

    Args:
        in_channels: Input channels.
        hid_channels: Hidden channels.
        out_channels: Output channels.
        norm_cfg: Normalisation layer config of the hidden layer.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 4096,
                 out_channels: int = 256,
                 norm_cfg: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mlp = nn.Sequential(
            nn.Conv2d(in_channels, hid_channels, 1),
            build_norm_layer(norm_cfg, hid_channels)[1],
            nn.ReLU(inplace=True),
            nn.Conv2d(hid_channels, out_channels, 1))

    def forward(self, x: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """Project a map.

        Args:
            x: ``(N, C_in, H, W)``, or backbone outputs whose last one is used.

        Returns:
            torch.Tensor: ``(N, C_out, H, W)``.
        """
        if isinstance(x, (list, tuple)):
            x = x[-1]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects (N, {self.in_channels}, H, W), got '
                             f'{tuple(x.shape)}; set in_channels to the backbone\'s C5 width.')
        return self.mlp(x)
