"""DetCon-B's projector and predictor: an MLP on mask-pooled vectors."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class DetConMLP(BaseModule):
    """``Linear -> BN -> ReLU -> Linear (no bias)`` applied to every pooled vector.

    DetCon-B's projector is ``DetConMLP(2048, 4096, 256)`` and its predictor
    ``DetConMLP(256, 4096, 256)`` (the authors' ``networks.MLP``: the hidden Linear
    has a bias, the output Linear none). BatchNorm normalises over all ``B * M``
    pooled vectors of the batch, as Haiku's BatchNorm does over every axis but the
    last. mmpretrain's ``NonLinearNeck`` sets one bias flag for both Linears, so it
    cannot express this.

    Args:
        in_channels: Input width.
        hid_channels: Hidden width (4096).
        out_channels: Output width (256).
        norm_cfg: Norm config of the hidden layer (``BN1d``; ``SyncBN`` for multi-GPU runs,
            the authors' cross-replica BatchNorm).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 4096,
                 out_channels: int = 256,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(type='BN1d') if norm_cfg is None else norm_cfg
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels),
            build_norm_layer(norm_cfg, hid_channels)[1],
            nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project pooled vectors.

        Args:
            x: ``(B, M, C_in)`` (or ``(N, C_in)``).

        Returns:
            torch.Tensor: ``(B, M, C_out)`` (or ``(N, C_out)``).
        """
        if x.shape[-1] != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects {self.in_channels} input channels, '
                             f'got {tuple(x.shape)}')
        return self.mlp(x.reshape(-1, x.shape[-1])).reshape(*x.shape[:-1], self.out_channels)
