"""PixPro's pixel propagation module (PPM)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdense.registry import MODELS
from .mlp2d_neck import MLP2dNeck


@MODELS.register_module()
class PixelPropagationModule(BaseModule):
    """Smooth every pixel's feature with the features of similar pixels.

    ``y_i = sum_j s(x_i, x_j) g(x_j)`` with ``s(x_i, x_j) = max(cos(x_i, x_j), 0) ** gamma``;
    ``g`` is the identity (0 layers), one 1x1 conv (1) or a two-layer
    :class:`MLP2dNeck` with a ``C``-wide hidden layer (2). As in the reference,
    ``g(x)`` is L2-normalised along channels before the sum.

    Args:
        in_channels: Channels ``C`` of the projected map (256).
        gamma: Sharpness exponent of the similarity (2).
        num_transform_layers: Layers of ``g``: 0, 1 (default) or 2.
        clamp_value: Lower bound of the cosine before the power (0, the
            reference's ``pixpro_clamp_value``).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int = 256,
                 gamma: float = 2.0,
                 num_transform_layers: int = 1,
                 clamp_value: float = 0.0,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_transform_layers == 0:
            self.value_transform = nn.Identity()
        elif num_transform_layers == 1:
            self.value_transform = nn.Conv2d(in_channels, in_channels, 1)
        elif num_transform_layers == 2:
            self.value_transform = MLP2dNeck(in_channels, in_channels, in_channels)
        else:
            raise ValueError(f'num_transform_layers must be 0, 1 or 2 (1 in PixPro), got '
                             f'{num_transform_layers}')
        if gamma <= 0:
            raise ValueError(f'gamma must be positive (2 in PixPro), got {gamma}')
        self.in_channels = in_channels
        self.gamma = gamma
        self.clamp_value = clamp_value

    def similarity(self, x: torch.Tensor) -> torch.Tensor:
        """``s(x_i, x_j)`` for all pairs of one map, ``(N, H*W, H*W)``."""
        x = F.normalize(x, dim=1).flatten(2)
        sim = torch.bmm(x.transpose(1, 2), x).clamp(min=self.clamp_value)
        if self.gamma < 1:
            sim = sim + 1e-6  # the power's gradient at 0 is infinite for gamma < 1
        return sim**self.gamma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Propagate.

        Args:
            x: Projected map ``(N, C, H, W)``.

        Returns:
            torch.Tensor: Propagated map ``(N, C, H, W)`` (not normalised).
        """
        n, c, h, w = x.shape
        value = F.normalize(self.value_transform(x), dim=1).flatten(2)  # (N, C, H*W)
        out = torch.bmm(value, self.similarity(x).transpose(1, 2))
        return out.reshape(n, c, h, w)
