"""Global projection MLP of MoCo v2."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class MoCoV2Neck(BaseModule):
    """Average-pool the last feature map, then ``fc-ReLU-fc``.

    Args:
        in_channels: Channels of the backbone feature map (2048 for ResNet-50).
        hid_channels: Hidden width of the MLP (2048 in MoCo v2).
        out_channels: Embedding size (128 in MoCo v2).
        with_avg_pool: Pool ``(N, C, H, W)`` to ``(N, C)``; False when the input
            is already a vector.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 with_avg_pool: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.with_avg_pool = with_avg_pool
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels), nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels))

    def forward(self, x: Sequence[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Project the last backbone output.

        Args:
            x: Backbone outputs; only the last is used, ``(N, C, H, W)``.

        Returns:
            tuple: One embedding ``(N, out_channels)``, not normalised.
        """
        feat = x[-1]
        if self.with_avg_pool:
            feat = feat.mean(dim=(2, 3))
        return (self.mlp(feat.flatten(1)), )
