"""A pre-trained ResNet as a frozen feature extractor, for the training-free probes.

The k-NN probe and DAVIS label propagation need no downstream package's Runner: they
run the backbone once over the images. This module loads what the transfer launchers
load (a ``tools/train.py`` checkpoint, whose encoder is extracted and validated by
:func:`~mmdense.transfer.backbone_extraction.extract_backbone`, or a backbone file from
``tools/model_converters/``), builds mmdet's ``ResNet`` of the inferred depth and width
with the requested strides/dilations, loads every tensor strictly and puts it in eval
mode with gradients off (BN uses its running statistics, as every frozen protocol does).
"""
import os.path as osp
from typing import Optional, Sequence

import torch
from torch import nn

from mmdense.transfer.backbone_extraction import ENCODERS, extract_backbone, infer_resnet_arch
from mmdense.utils.checkpoint import CheckpointFileError, load_checkpoint_file
from mmdense.utils.preflight import ConfigError

__all__ = [
    'load_backbone_state', 'build_frozen_resnet', 'load_frozen_resnet', 'frozen_copy',
    'FrozenFeatures', 'IMAGENET_MEAN', 'IMAGENET_STD'
]

# The normalisation every shipped pre-training config uses (RGB, 0-255 scale).
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def load_backbone_state(path: str, encoder: str = 'backbone') -> dict:
    """The ResNet state dict held by ``path``, validated against an mmdet ResNet.

    Args:
        path: A ``tools/train.py`` checkpoint or a backbone file (``state_dict`` of a ResNet,
            as ``extract_backbone.py`` and the converters write it).
        encoder: Which encoder of a training checkpoint (``backbone`` or
            ``momentum_backbone``).

    Returns:
        dict: Key -> tensor of a plain ResNet (no prefix).
    """
    if encoder not in ENCODERS:
        raise ValueError(f'encoder must be one of {ENCODERS}, got {encoder!r}.')
    checkpoint = load_checkpoint_file(path)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{path!r} holds a {type(checkpoint).__name__}, not a checkpoint dict.')
    weights = checkpoint.get('state_dict', checkpoint)
    if any(key.startswith(f'{name}.') for key in weights for name in ENCODERS):
        return extract_backbone(checkpoint, encoder=encoder)['state_dict']
    # A backbone file: validate it the same way by giving it the encoder prefix.
    wrapped = {f'backbone.{key}': value for key, value in weights.items()}
    return extract_backbone(wrapped, encoder='backbone')['state_dict']


def build_frozen_resnet(state: dict, out_indices: Sequence[int] = (3, ),
                        strides: Sequence[int] = (1, 2, 2, 2),
                        dilations: Sequence[int] = (1, 1, 1, 1)) -> nn.Module:
    """mmdet's ResNet with ``state`` loaded (every tensor), in eval mode, without gradients.

    Args:
        state: A validated ResNet state dict (:func:`load_backbone_state`).
        out_indices: Stages to return (0 = res2 ... 3 = res5).
        strides: Per-stage strides; ``(1, 2, 1, 1)`` gives res4 at output stride 8.
        dilations: Per-stage dilations.

    Returns:
        nn.Module: The frozen backbone; ``forward(images)`` returns a tuple of feature maps.
    """
    from mmdet.models.backbones import ResNet
    depth, base_channels = infer_resnet_arch(state)
    model = ResNet(depth=depth, base_channels=base_channels, out_indices=tuple(out_indices),
                   strides=tuple(strides), dilations=tuple(dilations), norm_eval=True,
                   frozen_stages=-1)
    # Stages after the last requested one are not run (FrozenFeatures stops there); their
    # weights still load, so a file that is not the full ResNet is refused, not half-used.
    result = model.load_state_dict(state, strict=False)
    # Older files lack BN's num_batches_tracked bookkeeping buffers; nothing else may miss.
    missing = [k for k in result.missing_keys if not k.endswith('num_batches_tracked')]
    if missing or result.unexpected_keys:
        raise ValueError(f'backbone weights do not fit ResNet-{depth}: missing {missing}, '
                         f'unexpected {result.unexpected_keys}')
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


class FrozenFeatures:
    """Images (BGR uint8 arrays) -> feature maps of one stage of a frozen ResNet.

    Args:
        backbone: From :func:`build_frozen_resnet` (one ``out_indices`` entry).
        mean: Per-channel RGB mean on the 0-255 scale.
        std: Per-channel RGB standard deviation.
        device: Where to run.
    """

    def __init__(self, backbone: nn.Module, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, device: Optional[str] = None) -> None:
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        # mmdet's ResNet.train() returns None, so no chaining after eval().
        self.backbone = backbone.to(self.device)
        self.backbone.eval()
        self.mean = torch.tensor(mean, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, 3, 1, 1)

    def to_tensor(self, images_bgr: Sequence) -> torch.Tensor:
        """Stack same-size BGR uint8 (H, W, 3) arrays into a normalised RGB batch."""
        import numpy as np
        batch = torch.from_numpy(np.stack([np.ascontiguousarray(im[..., ::-1])
                                           for im in images_bgr]))
        batch = batch.to(self.device).permute(0, 3, 1, 2).float()
        return (batch - self.mean) / self.std

    @torch.no_grad()
    def __call__(self, image_bgr) -> torch.Tensor:
        """Features (C, h, w) of one BGR uint8 (H, W, 3) image."""
        return self.batch([image_bgr])[0]

    @torch.no_grad()
    def batch(self, images_bgr: Sequence) -> torch.Tensor:
        """Features (N, C, h, w) of same-size BGR uint8 images (the last requested stage)."""
        return self._forward(self.to_tensor(images_bgr)).float().cpu()

    def _forward(self, images: torch.Tensor) -> torch.Tensor:
        """The last requested stage of the backbone, without running the stages after it.

        mmdet's ``ResNet.forward`` runs all four stages whatever ``out_indices`` asks for;
        with res5 at output stride 8 that is the most expensive stage, and unused.
        """
        net = self.backbone
        if not hasattr(net, 'res_layers'):  # not an mmdet ResNet: its own forward
            return net(images)[-1]
        x = net.stem(images) if net.deep_stem else net.relu(net.norm1(net.conv1(images)))
        x = net.maxpool(x)
        for layer_name in net.res_layers[:max(net.out_indices) + 1]:
            x = getattr(net, layer_name)(x)
        return x


def frozen_copy(backbone: nn.Module, out_indices: Sequence[int] = (3, ),
                strides: Sequence[int] = (1, 2, 2, 2)) -> nn.Module:
    """A frozen ResNet holding the current weights and BN statistics of a live backbone.

    For probes run during training: the copy may use other strides or outputs (res4 at
    output stride 8 for label propagation) and is in eval mode, while the training
    backbone keeps its mode, gradients and batch statistics untouched.

    Args:
        backbone: An mmdet ResNet (possibly in train mode, on any device).
        out_indices: Stages the copy returns.
        strides: Per-stage strides of the copy.

    Returns:
        nn.Module: The copy, on the backbone's device.
    """
    state = {key: value.detach().clone() for key, value in backbone.state_dict().items()}
    device = next(backbone.parameters()).device
    return build_frozen_resnet(state, out_indices=out_indices, strides=strides).to(device)


def load_frozen_resnet(checkpoint: str, encoder: str = 'backbone', **build_kwargs) -> nn.Module:
    """:func:`build_frozen_resnet` from a file, with one-line errors for the command lines.

    Args:
        checkpoint: A ``tools/train.py`` checkpoint or a backbone file.
        encoder: Encoder of a training checkpoint.
        **build_kwargs: ``out_indices``, ``strides``, ``dilations``.

    Raises:
        ConfigError: The file is missing or holds no ResNet (the message names it).
        CheckpointFileError: The file is incomplete or holds foreign objects.
    """
    if not osp.isfile(checkpoint):
        raise ConfigError(f'checkpoint {checkpoint} does not exist: pass a tools/train.py '
                          'checkpoint or a backbone file (--checkpoint).')
    try:
        state = load_backbone_state(checkpoint, encoder)
    except CheckpointFileError:
        raise
    except (ValueError, KeyError) as exc:
        raise ConfigError(f'checkpoint {checkpoint}: {exc} Pass a tools/train.py checkpoint '
                          'or a ResNet backbone file.') from None
    return build_frozen_resnet(state, **build_kwargs)
