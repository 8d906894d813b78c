"""Extract a pre-trained ViT encoder (mmseg's ``VisionTransformer``) for transfer.

The ViT pre-training configs (docs/vit.md) train mmseg's ``VisionTransformer`` itself, the
class that mmseg's UPerNet ViT configs load and that our mmdet ViTDet-style configs build as
``mmseg.VisionTransformer``; extraction is therefore a key filter: the ``backbone.`` (or
``momentum_backbone.``) prefix is stripped, and the result is checked key by key and shape by
shape against a ``VisionTransformer`` of the inferred architecture built on the meta device.
:func:`mmdense.transfer.backbone_extraction.extract_backbone` hands ViT state dicts here.
"""
import math
import re
from typing import Callable, Dict, Optional

import torch
from torch.overrides import TorchFunctionMode

from mmdense.version import __version__
from .key_check import state_mismatches

__all__ = ['is_vit_state', 'infer_vit_arch', 'build_on_meta', 'build_meta_vit', 'extract_vit']

_LAYER = re.compile(r'^layers\.(\d+)\.')
# The key only mmseg's ViT layout has (mmpretrain's is patch_embed.projection too, but its
# attention is ``attn.qkv``; timm's is ``patch_embed.proj``): both are refused by validation.
_PATCH = 'patch_embed.projection.weight'


def is_vit_state(state: Dict[str, torch.Tensor]) -> bool:
    """Whether a prefix-stripped encoder state dict is a ViT (patch embedding + pos_embed)."""
    return _PATCH in state and 'pos_embed' in state


def infer_vit_arch(state: Dict[str, torch.Tensor]) -> dict:
    """``VisionTransformer`` arguments that give the shapes of ``state``.

    Width, patch size, depth, MLP ratio, position-grid size and the optional layers
    (biases, final norm, patch norm, pre-norm) are read from the tensors. The number of
    heads leaves no trace in the weights; 64-wide heads (ViT-S: 6, ViT-B: 12) are assumed,
    which does not change any key or shape.

    Args:
        state: Encoder state dict without its prefix.

    Returns:
        dict: Keyword arguments of mmseg's ``VisionTransformer``.
    """
    patch = state[_PATCH]
    embed_dims, in_channels, patch_size = int(patch.shape[0]), int(patch.shape[1]), int(
        patch.shape[2])
    layers = {int(m.group(1)) for k in state for m in [_LAYER.match(k)] if m}
    num_layers = max(layers) + 1 if layers else 0
    tokens = int(state['pos_embed'].shape[1]) - 1  # one class token
    grid = math.isqrt(tokens)
    if grid * grid != tokens:
        raise ValueError(f'pos_embed holds {tokens} patch positions, not a square grid.')
    fc1 = state.get('layers.0.ffn.layers.0.0.weight')
    mlp_ratio = int(fc1.shape[0]) // embed_dims if fc1 is not None else 4
    return dict(
        img_size=grid * patch_size, patch_size=patch_size, in_channels=in_channels,
        embed_dims=embed_dims, num_layers=num_layers, num_heads=max(1, embed_dims // 64),
        mlp_ratio=mlp_ratio, qkv_bias='layers.0.attn.attn.in_proj_bias' in state,
        with_cls_token=True, final_norm='ln1.weight' in state,
        patch_norm='patch_embed.norm.weight' in state,
        patch_bias='patch_embed.projection.bias' in state, pre_norm='pre_ln.weight' in state,
        norm_cfg=dict(type='LN', eps=1e-6))


class _LinspaceOnCPU(TorchFunctionMode):
    """Run ``torch.linspace`` on the CPU inside a meta-device context.

    mmseg's ``VisionTransformer.__init__`` reads its drop-path rates with
    ``torch.linspace(...)[i].item()``, which a meta tensor cannot answer.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func is torch.linspace:
            kwargs['device'] = 'cpu'
        return func(*args, **kwargs)


def build_on_meta(build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Call ``build`` (a model constructor) on the meta device: shapes, no memory, no init."""
    with torch.device('meta'), _LinspaceOnCPU():
        return build()


def build_meta_vit(arch: dict) -> torch.nn.Module:
    """mmseg's ``VisionTransformer`` with ``arch`` on the meta device (no memory)."""
    from mmseg.models.backbones import VisionTransformer
    return build_on_meta(lambda: VisionTransformer(**arch))


def _validate(state: Dict[str, torch.Tensor], arch: dict, where: str) -> None:
    """Raise a ValueError listing every missing, unexpected or mis-shaped key."""
    expected = {k: v.shape for k, v in build_meta_vit(arch).state_dict().items()}
    problems = state_mismatches(state, expected)
    if not problems:
        return
    raise ValueError(
        f"'{where}' does not match mmseg's VisionTransformer (embed_dims={arch['embed_dims']}, "
        f"num_layers={arch['num_layers']}, patch_size={arch['patch_size']}): "
        + '; '.join(problems) + '. Nothing was written. Only checkpoints of the mmdense ViT '
        'configs (mmseg.VisionTransformer backbones) are supported.')


def extract_vit(state: Dict[str, torch.Tensor], source: str, encoder: str, fmt: str,
                depth: Optional[int] = None) -> dict:
    """Validate a ViT encoder state dict and wrap it as an mmseg/mmdet checkpoint.

    Args:
        state: Encoder state dict without its prefix (CPU tensors).
        source: Name of the source file, recorded in ``meta``.
        encoder: The prefix it came from (``'backbone'`` or ``'momentum_backbone'``).
        fmt: ``'mmdet'`` or ``'torchvision'`` (same file; a ViT has no detectron2 layout
            here).
        depth: Number of transformer blocks to require; None accepts the inferred one.

    Returns:
        dict: ``{'state_dict': {key: tensor}, 'meta': {str: str|int|bool}}``; ``meta``
        records the inferred architecture (``arch_*`` keys).

    Raises:
        ValueError: ``fmt='detectron2'``, a depth mismatch or a key set that is not
            mmseg's ``VisionTransformer``.
    """
    if fmt == 'detectron2':
        raise ValueError('A ViT backbone has no detectron2 layout here: use --format mmdet '
                         '(mmseg and mmdet load the same file). Nothing was written.')
    arch = infer_vit_arch(state)
    if depth is not None and depth != arch['num_layers']:
        raise ValueError(f'--depth {depth} given, but the ViT has {arch["num_layers"]} blocks. '
                         'Nothing was written.')
    _validate(state, arch, f'{source}:{encoder}.*')
    meta = dict(source=source, encoder=encoder, format=fmt, backbone='mmseg.VisionTransformer',
                mmdense_version=__version__)
    meta.update({f'arch_{k}': v for k, v in arch.items() if k != 'norm_cfg'})
    return {'state_dict': state, 'meta': meta}
