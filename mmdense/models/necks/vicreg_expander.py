"""VICReg's expander: an MLP on pooled features, or on every location of a feature map."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class VICRegExpander(BaseModule):
    """``(Linear -> BN -> ReLU) x (L - 1) -> Linear`` without bias on the last layer.

    VICRegL's expander is ``VICRegExpander(2048, (8192, 8192, 8192))`` on the
    pooled res5 vector and its maps expander ``VICRegExpander(2048, (512, 512,
    512))`` applied at every location of the res5 map: the map's cells are
    flattened into one batch of ``N * H * W`` vectors, so the BatchNorm layers
    normalise over all locations of all images (the authors' ``maps_projector``
    on ``maps.flatten(0, 1)``). PyTorch's default Linear initialisation, as in
    the authors' code.

    Args:
        in_channels: Input width (2048 for ResNet-50).
        channels: Widths of the layers; the last is the output width.
        norm_cfg: Normalisation of the hidden layers (``BN1d``; ``SyncBN`` across GPUs).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 channels: Sequence[int] = (8192, 8192, 8192),
                 norm_cfg: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(type='BN1d') if norm_cfg is None else norm_cfg
        widths = [in_channels, *channels]
        if len(widths) < 2:
            raise ValueError(f'{type(self).__name__} needs at least one layer, got {channels}')
        layers = []
        for c_in, c_out in zip(widths[:-2], widths[1:-1]):
            layers += [nn.Linear(c_in, c_out), build_norm_layer(norm_cfg, c_out)[1],
                       nn.ReLU(inplace=True)]
        layers.append(nn.Linear(widths[-2], widths[-1], bias=False))
        self.mlp = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.out_channels = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Expand pooled vectors or every location of a map.

        Args:
            x: ``(N, C)`` vectors or an ``(N, C, H, W)`` map.

        Returns:
            torch.Tensor: ``(N, D)`` for vectors, ``(N, H * W, D)`` for a map
            (cells row-major).
        """
        if x.dim() not in (2, 4) or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects (N, {self.in_channels}) or '
                             f'(N, {self.in_channels}, H, W), got {tuple(x.shape)}')
        if x.dim() == 2:
            return self.mlp(x)
        n = x.shape[0]
        cells = x.flatten(2).transpose(1, 2)  # (N, H*W, C)
        return self.mlp(cells.reshape(-1, self.in_channels)).view(n, cells.shape[1], -1)
