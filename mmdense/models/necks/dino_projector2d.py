"""SlotCon's projector: a DINO-style MLP head applied at every location of a feature map."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class DINOProjector2d(BaseModule):
    """``(conv1x1 -> BN -> GELU) x (num_layers - 1) -> conv1x1`` on a feature map.

    SlotCon projects the C5 map with ``DINOProjector2d(2048, 4096, 256)``: three
    1x1 convolutions 2048-4096-4096-256 with biases, BN and GELU after the first
    two. Convolution weights start truncated-normal with std 0.02 and biases at
    zero, as the authors' ``DINOHead2d`` does (DINO's head initialisation); BN
    keeps PyTorch's defaults.

    Args:
        in_channels: Input channels (the backbone's C5 width).
        hid_channels: Hidden channels (4096).
        out_channels: Output channels (256).
        num_layers: Number of 1x1 convolutions (3; 1 gives a single linear map).
        norm_cfg: Norm config of the hidden layers (``dict(type='SyncBN')`` in the R50
            configs, as the authors convert every BN to SyncBN).
        init_cfg: MMEngine initialisation config; None keeps the DINO initialisation.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 4096,
                 out_channels: int = 256,
                 num_layers: int = 3,
                 norm_cfg: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.in_channels = in_channels
        self.out_channels = out_channels
        layers: list[nn.Module] = []
        width = in_channels
        for _ in range(num_layers - 1):
            layers += [nn.Conv2d(width, hid_channels, 1),
                       build_norm_layer(norm_cfg, hid_channels)[1], nn.GELU()]
            width = hid_channels
        layers.append(nn.Conv2d(width, out_channels, 1))
        self.mlp = nn.Sequential(*layers)
        # At construction, so a model built without init_weights() starts as the authors' does.
        for m in self.mlp:
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

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
