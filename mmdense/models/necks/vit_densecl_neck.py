"""DenseCL projection heads for ViT token maps: MoCo v3's BN MLPs, globally and per token."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdense.registry import MODELS


def _bn_mlp(in_channels: int, hid_channels: int, out_channels: int, num_layers: int,
            dense: bool) -> nn.Sequential:
    """MoCo v3's projector: ``num_layers`` linear layers, BN + ReLU after each hidden one and
    a BN without affine parameters after the last; as 1x1 convs + BN2d when ``dense``."""
    if num_layers < 2:
        raise ValueError(f'num_layers must be >= 2 (MoCo v3: 3), got {num_layers}.')
    linear = (lambda i, o: nn.Conv2d(i, o, 1, bias=False)) if dense else (
        lambda i, o: nn.Linear(i, o, bias=False))
    norm = nn.BatchNorm2d if dense else nn.BatchNorm1d
    layers: List[nn.Module] = []
    for i in range(num_layers):
        last = i == num_layers - 1
        layers.append(linear(in_channels if i == 0 else hid_channels,
                             out_channels if last else hid_channels))
        if last:
            layers.append(norm(out_channels, affine=False))
        else:
            layers += [norm(hid_channels), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


@MODELS.register_module()
class ViTDenseCLNeck(BaseModule):
    """DenseCL's global and dense heads, built as MoCo v3's ViT projector.

    Same interface as :class:`DenseCLNeck` (so :class:`DenseCL` runs unchanged): the
    input is the ViT's patch-token grid ``(N, C, h, w)`` (mmseg's ``VisionTransformer``
    output, class token removed); the global embedding projects the *mean* of the patch
    tokens, the dense embedding projects every token with the same MLP as 1x1 convs.
    MoCo v3's heads (3 layers, 4096 hidden, BN, last BN without affine) replace
    DenseCL's BN-free 2-layer MLPs: without BN the ViT recipe is unstable (MoCo v3, sec. 4).

    Args:
        in_channels: Token width (768 for ViT-B, 384 for ViT-S).
        hid_channels: Hidden width (4096 in MoCo v3).
        out_channels: Embedding size (128, DenseCL's queue width).
        num_layers: Linear layers per head (3 in MoCo v3).
        num_grid: If set, tokens are adaptive-average-pooled to ``num_grid x num_grid``
            first (as :class:`DenseCLNeck`); None keeps the token grid (14x14 at 224 px).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 4096,
                 out_channels: int = 128,
                 num_layers: int = 3,
                 num_grid: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.num_grid = num_grid
        self.mlp = _bn_mlp(in_channels, hid_channels, out_channels, num_layers, dense=False)
        self.dense_mlp = _bn_mlp(in_channels, hid_channels, out_channels, num_layers, dense=True)

    def forward(self, x: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Project the last backbone output globally and densely.

        Args:
            x: Backbone outputs; only the last is used, ``(N, C, h, w)``.

        Returns:
            tuple: ``global_emb (N, D)``, ``dense_emb (N, D, S*S)`` and
            ``pooled_dense_emb (N, D)``, none of them L2-normalised.
        """
        feat = x[-1]
        if self.num_grid is not None:
            feat = F.adaptive_avg_pool2d(feat, self.num_grid)
        global_emb = self.mlp(feat.mean(dim=(2, 3)))
        dense_emb = self.dense_mlp(feat).flatten(2)
        return global_emb, dense_emb, dense_emb.mean(dim=2)
