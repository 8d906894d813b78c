"""SlotCon's slot predictor: a DINO-style MLP on slot vectors."""
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class SlotPredictor(BaseModule):
    """``(Linear -> BN -> GELU) x (num_layers - 1) -> Linear`` on ``(M, C)`` slot vectors.

    SlotCon predicts the teacher's slots from the student's with
    ``SlotPredictor(256, 4096, 256)`` (256-4096-4096-256, the authors' ``DINOHead``).
    It sees only the slots that take part in the contrastive loss, so its BN
    statistics are those of the selected slots, as in the authors' code. Linear
    weights start truncated-normal with std 0.02, biases at zero.

    Args:
        in_channels: Slot width (the projector's output, 256).
        hid_channels: Hidden width (4096).
        out_channels: Output width (256).
        num_layers: Number of linear layers (3).
        norm_cfg: Norm config of the hidden layers: a 1-D norm (``BN1d``) or ``SyncBN``.
        init_cfg: MMEngine initialisation config; None keeps the DINO initialisation.
    """

    def __init__(self,
                 in_channels: int = 256,
                 hid_channels: int = 4096,
                 out_channels: int = 256,
                 num_layers: int = 3,
                 norm_cfg: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        norm_cfg = dict(type='BN1d') if norm_cfg is None else norm_cfg
        self.in_channels = in_channels
        self.out_channels = out_channels
        layers: list[nn.Module] = []
        width = in_channels
        for _ in range(num_layers - 1):
            layers += [nn.Linear(width, hid_channels), build_norm_layer(norm_cfg, hid_channels)[1],
                       nn.GELU()]
            width = hid_channels
        layers.append(nn.Linear(width, out_channels))
        self.mlp = nn.Sequential(*layers)
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict.

        Args:
            x: Slots ``(M, C_in)``.

        Returns:
            torch.Tensor: ``(M, C_out)``.
        """
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects (M, {self.in_channels}), got '
                             f'{tuple(x.shape)}')
        return self.mlp(x)
