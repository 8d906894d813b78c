"""DenseCL projection neck: a global MLP and a dense 1x1-conv MLP on the C5 map."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class DenseCLNeck(BaseModule):
    """Global and dense projection heads of DenseCL.

    The global branch is MoCo v2's ``avgpool-fc-ReLU-fc``. The dense branch is
    the same MLP as 1x1 convolutions applied at every location, so each of the
    ``S x S`` cells gets its own embedding; its spatial average is the vector
    that goes into the dense negative queue.

    Args:
        in_channels: Channels of the backbone C5 map (2048 for ResNet-50).
        hid_channels: Hidden width of both MLPs (2048).
        out_channels: Embedding size of both branches (128).
        num_grid: If set, the dense branch first adaptive-average-pools the map
            to ``num_grid x num_grid``; None keeps the backbone resolution
            (7x7 at 224 px), as in the paper's default.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 num_grid: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.num_grid = num_grid
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels), nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels))
        self.dense_mlp = nn.Sequential(
            nn.Conv2d(in_channels, hid_channels, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hid_channels, out_channels, 1))

    def forward(self, x: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Project the last backbone output globally and densely.

        Args:
            x: Backbone outputs; only the last is used, ``(N, C, H, W)``.

        Returns:
            tuple: ``global_emb (N, D)``, ``dense_emb (N, D, S*S)`` and
            ``pooled_dense_emb (N, D)``, none of them normalised.
        """
        feat = x[-1]
        if self.num_grid is not None:
            feat = F.adaptive_avg_pool2d(feat, self.num_grid)
        global_emb = self.mlp(feat.mean(dim=(2, 3)))
        dense_emb = self.dense_mlp(feat).flatten(2)
        return global_emb, dense_emb, dense_emb.mean(dim=2)
