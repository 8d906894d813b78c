"""ViTDet's simple feature pyramid (Li et al., ECCV 2022) for Mask R-CNN on a plain ViT.

mmdet 3.3's wheel has no ViT backbone and no simple feature pyramid (ViTDet lives in
mmdet's ``projects/``, not installed), and mmseg's ``Feature2Pyramid`` rescales *four*
backbone outputs with deconvolutions but has no output convolutions (it feeds UPerNet,
which has its own). This module builds the pyramid from the *last* ViT map only, as
ViTDet: deconvolutions up (x4, x2), identity, max-pool down (x1/2), then per level a 1x1
conv to ``out_channels`` and a 3x3 conv, each followed by a channel LayerNorm, plus
a stride-2 max-pool of the coarsest level (P6) for the RPN.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdense.registry import MODELS

__all__ = ['LayerNorm2d', 'SimpleFeaturePyramid']


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an ``(N, C, H, W)`` map, at every location."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` ``(N, C, H, W)`` over ``C``; same shape out."""
        x = F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """ViTDet's pyramid: strides 4, 8, 16, 32 (and 64) from one stride-16 ViT map.

    Args:
        in_channels: Width of the ViT map (768 for ViT-B).
        out_channels: Width of every pyramid level (256).
        scale_factors: Resampling of the input per level, from fine to coarse; each of
            4, 2, 1, 0.5 (ViTDet: all four).
        num_outs: Levels returned; one more than ``len(scale_factors)`` adds ViTDet's
            ``LastLevelMaxPool`` (P6, stride-2 max-pool of the last level).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = 5,
                 init_cfg=dict(type='Kaiming', layer=['Conv2d', 'ConvTranspose2d'], a=1,
                               mode='fan_in', nonlinearity='leaky_relu')) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_outs not in (len(scale_factors), len(scale_factors) + 1):
            raise ValueError(f'num_outs must be {len(scale_factors)} or '
                             f'{len(scale_factors) + 1}, got {num_outs}.')
        self.scale_factors = tuple(scale_factors)
        self.num_outs = num_outs
        self.stages = nn.ModuleList()
        for scale in self.scale_factors:
            dim = in_channels
            if scale == 4.0:
                layers: List[nn.Module] = [
                    nn.ConvTranspose2d(dim, dim // 2, 2, stride=2), LayerNorm2d(dim // 2),
                    nn.GELU(), nn.ConvTranspose2d(dim // 2, dim // 4, 2, stride=2)]
                dim //= 4
            elif scale == 2.0:
                layers = [nn.ConvTranspose2d(dim, dim // 2, 2, stride=2)]
                dim //= 2
            elif scale == 1.0:
                layers = []
            elif scale == 0.5:
                layers = [nn.MaxPool2d(2, stride=2)]
            else:
                raise ValueError(f'scale factor {scale} is not one of 4, 2, 1, 0.5.')
            # ViTDet's output convs have no bias: each is followed by a norm.
            layers += [nn.Conv2d(dim, out_channels, 1, bias=False), LayerNorm2d(out_channels),
                       nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                       LayerNorm2d(out_channels)]
            self.stages.append(nn.Sequential(*layers))

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Build the pyramid from the last backbone output.

        Args:
            inputs: Backbone outputs; the last is used, ``(N, C, H, W)`` at stride 16.

        Returns:
            tuple: ``num_outs`` maps ``(N, out_channels, H * s, W * s)``, fine to coarse.
        """
        x = inputs[-1]
        outs = [stage(x) for stage in self.stages]
        if self.num_outs > len(outs):
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
