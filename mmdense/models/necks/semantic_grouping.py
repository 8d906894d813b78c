"""SlotCon's semantic grouping: pixels softly assigned to learnable prototypes, pooled into
slots."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class SemanticGrouping(BaseModule):
    """Learnable prototypes that group a projected map into slots.

    Scores are cosines between prototypes ``s_k`` and pixel features ``z_p``,
    ``(N, K, H, W)``. Slot ``k`` is the mean of the (un-normalised) features
    weighted by ``a_kp = softmax_k(cos(s_k, z_p) / T) + eps``, normalised over
    the pixels: ``slot_k = sum_p a_kp z_p / sum_p a_kp``. Student and teacher use
    the same ``T`` (0.07, the authors' teacher temperature, for both); the group
    loss applies its own temperatures to the returned cosines.

    The prototypes are ``prototypes.weight`` (an ``nn.Embedding``, standard
    normal at start, as the authors' ``slot_embed``).

    Args:
        num_prototypes: ``K`` (256 on COCO, 2048 on ImageNet).
        dim: Feature width (the projector's output, 256).
        temperature: ``T`` of the attention softmax (0.07).
        eps: Added to the attention before pixel normalisation (1e-6), so that a
            prototype that wins nowhere still gets a defined slot.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 num_prototypes: int,
                 dim: int = 256,
                 temperature: float = 0.07,
                 eps: float = 1e-6,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_prototypes < 1 or temperature <= 0:
            raise ValueError('SemanticGrouping needs num_prototypes >= 1 and temperature > 0, got '
                             f'{num_prototypes} and {temperature}')
        self.num_prototypes = num_prototypes
        self.dim = dim
        self.temperature = temperature
        self.eps = eps
        self.prototypes = nn.Embedding(num_prototypes, dim)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Group a map.

        Args:
            x: Projected features ``(N, C, H, W)``.

        Returns:
            tuple: Slots ``(N, K, C)`` and scores (cosines) ``(N, K, H, W)``.
        """
        if x.dim() != 4 or x.shape[1] != self.dim:
            raise ValueError(f'{type(self).__name__} expects (N, {self.dim}, H, W), got '
                             f'{tuple(x.shape)}')
        prototypes = F.normalize(self.prototypes.weight, dim=1)
        scores = torch.einsum('kc,nchw->nkhw', prototypes, F.normalize(x, dim=1))
        attn = (scores / self.temperature).softmax(dim=1) + self.eps
        attn = attn / attn.sum(dim=(2, 3), keepdim=True)
        slots = torch.einsum('nchw,nkhw->nkc', x, attn)
        return slots, scores
