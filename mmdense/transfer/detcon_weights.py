"""Convert DetCon's released Haiku ResNet (``resnet50_detcon_b_imagenet_1k.npy``) to an mmdet
ResNet state dict.

The authors release NumPy files, not torch state dicts (google-deepmind/detcon README,
"Pre-trained checkpoints"). The layout read here follows their network code
(``utils/networks.py``: ``ResNetTorso`` with Haiku's ``ResNet.BlockGroup`` / ``BlockV1``):
a pickled dict, ``np.load(path, allow_pickle=True).item()``, of Haiku modules to their
arrays, e.g. ``'res_net50/~/initial_conv': {'w': (7, 7, 3, 64)}``,
``'res_net50/~/block_group_0/~/block_0/~/batchnorm_0': {'scale': (1, 1, 1, 64), 'offset': ...}``
and the BN statistics as state modules ``.../batchnorm_0/~/mean_ema`` / ``var_ema`` with
``{'average': ...}``. Flat ``'module/param'`` keys are taken too. The file itself is not
reachable from here: the converter is tested on a state built in this layout, and any
mismatch with the real file raises with the keys seen.

Names: ``initial_conv`` -> ``conv1``, ``initial_batchnorm`` -> ``bn1``,
``block_group_g/~/block_b`` -> ``layer{g+1}.{b}``, ``conv_i`` / ``batchnorm_i`` ->
``conv{i+1}`` / ``bn{i+1}``, ``proj_conv`` / ``proj_batchnorm`` -> ``downsample.0`` / ``.1``;
conv kernels HWIO -> OIHW, BN ``scale``/``offset`` -> ``weight``/``bias``. Heads
(projector, predictor, classifier, ``logits``) are left out.

Known difference when used in PyTorch: Haiku's convolutions pad 'SAME' (for stride 2 on an
even input one pixel less on the top/left than PyTorch's symmetric padding), so features are
shifted by one input pixel at each strided layer; transfer fine-tuning absorbs it.
"""
import re
from typing import Dict, Mapping, Union

import numpy as np
import torch

__all__ = ['convert_detcon_haiku', 'load_haiku_npy']

_BLOCK = re.compile(r'block_group_(\d+)/~/block_(\d+)/~/(conv|batchnorm)_(\d+)$')
_PROJ = re.compile(r'block_group_(\d+)/~/block_(\d+)/~/proj_(conv|batchnorm)$')


def load_haiku_npy(path: str) -> dict:
    """Read a released ``.npy`` (a pickled dict; only open files you trust)."""
    obj = np.load(path, allow_pickle=True)
    return obj.item() if isinstance(obj, np.ndarray) and obj.dtype == object else obj


def _flatten(params: Mapping) -> Dict[str, np.ndarray]:
    flat = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            for name, array in value.items():
                flat[f'{key}/{name}'] = np.asarray(array)
        else:
            flat[key] = np.asarray(value)
    return flat


def _torch_name(module: str) -> Union[str, None]:
    """The mmdet ResNet module of a Haiku module path (None: not part of the trunk)."""
    tail = module.split('/~/', 1)[1] if '/~/' in module else module
    if tail == 'initial_conv':
        return 'conv1'
    if tail == 'initial_batchnorm':
        return 'bn1'
    match = _BLOCK.search(tail)
    if match:
        group, block, kind, index = match.groups()
        prefix = 'conv' if kind == 'conv' else 'bn'
        return f'layer{int(group) + 1}.{block}.{prefix}{int(index) + 1}'
    match = _PROJ.search(tail)
    if match:
        group, block, kind = match.groups()
        return f'layer{int(group) + 1}.{block}.downsample.{0 if kind == "conv" else 1}'
    return None


def convert_detcon_haiku(params: Union[Mapping, str]) -> Dict[str, torch.Tensor]:
    """Map DetCon's Haiku ResNet parameters and BN statistics to mmdet ResNet names.

    Args:
        params: The loaded dict (modules to ``{param: array}``, or flat keys) or a path.

    Returns:
        dict: ``{conv1.weight, bn1.weight, ..., layer4.2.bn3.running_var}`` as float32
        tensors plus ``num_batches_tracked`` zeros, ready for
        :func:`~mmdense.transfer.backbone_extraction.extract_backbone`.

    Raises:
        ValueError: No ResNet trunk in the layout above.
    """
    if isinstance(params, str):
        params = load_haiku_npy(params)
    state: Dict[str, torch.Tensor] = {}
    for key, array in _flatten(params).items():
        module, _, param = key.rpartition('/')
        stat = None
        if module.endswith(('/~/mean_ema', '/~/var_ema')):
            module, _, stat = module.rpartition('/~/')
            if param != 'average':
                continue  # Haiku's EMA counter and hidden value
        name = _torch_name(module)
        if name is None:
            continue
        tensor = torch.from_numpy(np.ascontiguousarray(array, np.float32))
        if stat is not None:
            state[f'{name}.running_{"mean" if stat == "mean_ema" else "var"}'] = tensor.reshape(-1)
            state[f'{name}.num_batches_tracked'] = torch.tensor(0)
        elif param == 'w':
            state[f'{name}.weight'] = tensor.permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW
        elif param in ('scale', 'offset'):
            state[f'{name}.{"weight" if param == "scale" else "bias"}'] = tensor.reshape(-1)
    if 'conv1.weight' not in state:
        seen = sorted({k.rpartition('/')[0] for k in _flatten(params)})[:8]
        raise ValueError('not a DetCon Haiku ResNet: no ".../initial_conv" weights; module '
                         f'names seen: {seen}')
    return state
