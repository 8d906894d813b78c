"""Layer-wise learning-rate decay for mmseg's ``VisionTransformer`` in mmdet/mmseg models.

Neither installed constructor covers this backbone: mmseg 1.2.2's
``LearningRateDecayOptimizerConstructor`` assigns layer ids only when the backbone's class
name contains ``BEiT`` or ``MAE`` (``NotImplementedError`` otherwise) and mmdet 3.3's only
for ``ConvNeXt``; both also miss ``pos_embed``/``cls_token`` in their no-decay test, which
compares un-prefixed names against ``backbone.``-prefixed ones. The rule here is ViTDet's
and BEiT's: block ``i`` of ``L`` gets ``decay_rate ** (L - i)``, the patch embedding,
``pos_embed`` and ``cls_token`` ``decay_rate ** (L + 1)``, everything else (final norm,
neck, heads) the base rate; 1-d parameters (norms, biases), ``pos_embed`` and ``cls_token``
get no weight decay.
"""
import re
from typing import List, Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor

from mmdense.registry import OPTIM_WRAPPER_CONSTRUCTORS

__all__ = ['vit_layer_id', 'ViTLayerDecayOptimizerConstructor']

_BLOCK = re.compile(r'^backbone\.layers\.(\d+)\.')


def vit_layer_id(name: str, num_layers: int) -> int:
    """Depth of parameter ``name``: 0 for embeddings, ``i + 1`` for block ``i``, else
    ``num_layers + 1``."""
    if name in ('backbone.cls_token', 'backbone.pos_embed') or name.startswith(
            'backbone.patch_embed.'):
        return 0
    match = _BLOCK.match(name)
    if match:
        return int(match.group(1)) + 1
    return num_layers + 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViTLayerDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """One parameter group per (depth, decay/no-decay) with ``lr * decay_rate ** (L + 1 - id)``.

    ``paramwise_cfg`` keys: ``num_layers`` (ViT blocks, 12 for ViT-B) and ``decay_rate``
    (ViTDet ViT-B: 0.7; BEiT/MAE segmentation: 0.65). Other ``paramwise_cfg`` options of
    the default constructor are not applied.
    """

    def add_params(self, params: List[dict], module: nn.Module,
                   prefix: str = '', is_dcn_module: Optional[int] = None) -> None:
        num_layers = int(self.paramwise_cfg['num_layers'])
        decay_rate = float(self.paramwise_cfg['decay_rate'])
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            no_decay = param.ndim == 1 or name.endswith('.bias') or name in (
                'backbone.pos_embed', 'backbone.cls_token')
            layer_id = vit_layer_id(name, num_layers)
            key = (layer_id, no_decay)
            if key not in groups:
                scale = decay_rate**(num_layers + 1 - layer_id)
                groups[key] = dict(params=[], lr=self.base_lr * scale, lr_scale=scale,
                                   weight_decay=0. if no_decay else self.base_wd)
            groups[key]['params'].append(param)
        params.extend(groups[k] for k in sorted(groups))
