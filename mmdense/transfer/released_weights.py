"""Convert third-party released weights (DenseCL, PixPro, MoCo v2, SlotCon, VICRegL, DetCon) to
an mmdet ResNet.

Each project ships its ResNet under a different container key and key prefix,
next to heads, key encoders and queues that transfer must not see. This module
knows those layouts, pulls out the online (query) encoder as a bare ResNet
state dict and hands it to :func:`~mmdense.transfer.backbone_extraction.extract_backbone`,
so released weights get the same validation and output formats as our own.

Layouts, and where they were read (the projects' own code, in our words):

* ``densecl``: WXinlong/DenseCL ``tools/extract_backbone_weights.py`` writes the
  released ``.pth`` as ``{'state_dict': {...}, 'author': 'DenseCL'}`` with the
  ``backbone.`` prefix already stripped, i.e. torchvision ResNet names. A raw
  OpenSelfSup training checkpoint (``state_dict`` with ``backbone.*``) is taken too.
* ``pixpro``: zdaxie/PixPro ``transfer/detection/convert_pretrain_to_d2.py`` reads
  ``ckpt['model']`` and keeps ``module.encoder.*`` (DDP-wrapped online encoder);
  ``contrast/models/PixPro.py`` shows the rest: ``encoder_k``, ``projector(_k)``,
  ``projector_instance(_k)``, ``predictor``, ``value_transform``.
* ``mmselfsup`` / ``mmpretrain``: open-mmlab/mmselfsup
  ``mmselfsup/models/algorithms/densecl.py`` (and mmpretrain's selfsup DenseCL and
  MoCo v2) keep the online encoder at ``backbone.*`` in ``state_dict`` and the key
  encoder as ``ExponentialMovingAverage(nn.Sequential(backbone, neck))``, i.e.
  ``encoder_k.module.0.*`` / ``encoder_k.module.1.*`` / ``encoder_k.steps``, plus
  ``neck.*``, ``queue``, ``queue_ptr``, ``queue2``, ``queue2_ptr`` (queues (C, K)).
* ``moco``: facebookresearch/moco ``detection/convert-pretrain-to-detectron2.py``
  reads ``ckpt['state_dict']`` and keeps ``module.encoder_q.*``; the query encoder is
  a torchvision ResNet whose ``fc`` is the MLP head, so ``fc.*`` is dropped.
* ``slotcon`` (the EMA teacher, which SlotCon transfers) and ``vicregl``: see the
  comments on their :data:`_LAYOUTS` entries.
* ``detcon``: google-deepmind/detcon releases a pickled NumPy dict of Haiku modules, not a
  torch checkpoint; :mod:`mmdense.transfer.detcon_weights` maps it. Reading it runs the
  pickle, so the command asks for ``--trust-pickle``.

The command-line wrapper is ``tools/model_converters/convert_released.py``.
"""
import argparse
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import torch

from .backbone_extraction import add_output_arguments, extract_backbone, num_tensors, save_backbone

# source -> (container keys tried in order, key prefixes tried in order).
# A prefix of '' means the container already holds bare ResNet names.
_LAYOUTS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    # Released weights first; 'backbone.' catches a raw OpenSelfSup checkpoint.
    'densecl': (('state_dict', ), ('backbone.', '')),
    # 'encoder.' covers a checkpoint saved without the DDP wrapper.
    'pixpro': (('model', ), ('module.encoder.', 'encoder.')),
    'mmselfsup': (('state_dict', ), ('backbone.', )),
    'mmpretrain': (('state_dict', ), ('backbone.', )),
    'moco': (('state_dict', ), ('module.encoder_q.', 'encoder_q.')),
    # CVMI-Lab/SlotCon transfer/detection/convert_pretrain_to_d2.py keeps the teacher,
    # `module.encoder_k.*` of ckpt['model'] (encoder_q/projector_*/grouping_*/predictor_slot
    # and the centre are the rest): SlotCon transfers its teacher, not the online encoder.
    'slotcon': (('model', ), ('module.encoder_k.', 'encoder_k.')),
    # facebookresearch/VICRegL: `resnet50_alpha0.75.pth` / `_alpha0.9.pth` are bare ResNet
    # state dicts (hubconf loads them strictly into their ResNet, no fc); the `_fullckpt.pth`
    # files hold ckpt['model'] with `module.backbone.*` (projector, maps_projector, classifier
    # are the rest; 'state_dict' + 'backbone.' is an OpenMMLab-style re-save). Their stem pads
    # once more, to the same effect: see configs/vicregl/README.md.
    'vicregl': (('model', 'state_dict'), ('module.backbone.', 'backbone.', '')),
}
# Sources in another format than a torch checkpoint: name -> converter to ResNet names.
_CONVERTERS = {'detcon': 'mmdense.transfer.detcon_weights:convert_detcon_haiku'}
SOURCES = tuple(_LAYOUTS) + tuple(_CONVERTERS)

# Top-level modules of a torchvision/mmdet ResNet trunk. Anything else under the
# encoder prefix (torchvision's ``fc`` classifier, MoCo's MLP head in ``fc``) is
# not part of the transferred backbone.
_RESNET_TOP = ('conv1', 'bn1', 'layer1', 'layer2', 'layer3', 'layer4')


def _load(checkpoint: Union[dict, str]) -> Tuple[dict, str]:
    """Read a checkpoint file (or pass a dict through) and name it for messages.

    Files are read with torch's safe ``weights_only`` unpickler. Beyond the Runner
    allow-list, only ``argparse.Namespace`` is admitted, and only for this load:
    PixPro stores its command-line options (``opt``) as one, and a Namespace just
    holds attributes whose values still pass through the restricted unpickler.
    """
    if not isinstance(checkpoint, str):
        return checkpoint, '<dict>'
    from mmdense.utils import load_checkpoint_file

    # Missing, truncated or non-allow-listed files are refused there with their own message.
    return load_checkpoint_file(checkpoint, extra_safe_globals=[argparse.Namespace],
                                what='IN'), osp.basename(checkpoint)


def _prefixes_seen(state: dict) -> list:
    """Up to two dotted components of each key, e.g. 'module.encoder', for error messages."""
    return sorted({'.'.join(k.split('.')[:2]) for k in state if isinstance(k, str)})


def convert_released(checkpoint: Union[dict, str], source: str,
                     trust_pickle: bool = False) -> dict:
    """Return the online encoder of a released checkpoint as a bare ResNet state dict.

    Args:
        checkpoint: The released checkpoint, or its path.
        source: One of :data:`SOURCES` (``densecl``, ``pixpro``, ``mmselfsup``,
            ``mmpretrain``, ``moco``, ``slotcon``, ``vicregl``, ``detcon``).
        trust_pickle: Needed to read a ``detcon`` file, a pickle that can run code.

    Returns:
        dict: ``{resnet_key: tensor}`` with torchvision/mmdet names (``conv1.weight``,
        ``layer1.0.bn1.running_mean``, ...), heads and key encoders left out. Not
        yet validated: pass it through :func:`convert_and_extract` for that.

    Raises:
        ValueError: Unknown source, or a checkpoint that is not in that source's layout.
    """
    if source in _CONVERTERS:
        if isinstance(checkpoint, str) and not trust_pickle:
            raise ValueError(
                f'{osp.basename(checkpoint)}: the {source} release is a pickled NumPy file, and '
                'loading it can run code. Pass --trust-pickle (trust_pickle=True) only for a '
                'file you downloaded from the authors.')
        module, _, func = _CONVERTERS[source].partition(':')
        import importlib
        return getattr(importlib.import_module(module), func)(checkpoint)
    if source not in _LAYOUTS:
        raise ValueError(f'source must be one of {SOURCES}, got {source!r}.')
    ckpt, name = _load(checkpoint)
    if not isinstance(ckpt, dict):
        raise ValueError(f'Expected a checkpoint dict in {name}, got {type(ckpt).__name__}.')
    containers, prefixes = _LAYOUTS[source]
    state = next((ckpt[c] for c in containers if isinstance(ckpt.get(c), dict)), None)
    if state is None and ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        state = ckpt  # a bare state dict saved without a container
    for prefix in prefixes if state is not None else ():
        picked = {k[len(prefix):]: v for k, v in state.items()
                  if isinstance(k, str) and k.startswith(prefix)
                  and k[len(prefix):].split('.', 1)[0] in _RESNET_TOP}
        if picked:
            return picked
    # Show the prefixes inside whatever dicts the file holds, so a wrong --source is obvious.
    inner = [state] if state is not None else [v for v in ckpt.values() if isinstance(v, dict)]
    seen = sorted({p for d in inner for p in _prefixes_seen(d)})
    raise ValueError(
        f"{name} is not in the '{source}' layout (expected container "
        f"{' or '.join(map(repr, containers))} with keys starting "
        f"{' or '.join(repr(p) if p else 'with ResNet names' for p in prefixes)}). "
        f'Top-level keys seen: {sorted(map(str, ckpt))}; key prefixes seen: {seen or "none"}. '
        f'Accepted sources: {", ".join(SOURCES)}.')


def convert_and_extract(checkpoint: Union[dict, str],
                        source: str,
                        fmt: str = 'mmdet',
                        depth: Optional[int] = None,
                        trust_pickle: bool = False) -> dict:
    """Convert a released checkpoint and validate/format it like our own extractions.

    Args:
        checkpoint: The released checkpoint, or its path.
        source: One of :data:`SOURCES`.
        fmt: ``'mmdet'``, ``'torchvision'`` or ``'detectron2'``.
        depth: ResNet depth to validate against; inferred when None.
        trust_pickle: See :func:`convert_released`.

    Returns:
        dict: What :func:`extract_backbone` returns for ``fmt``; for mmdet and
        torchvision ``meta`` also records ``released_source`` and the file name.
    """
    state = convert_released(checkpoint, source, trust_pickle=trust_pickle)
    out = extract_backbone({'state_dict': {'backbone.' + k: v for k, v in state.items()}},
                           encoder='backbone', fmt=fmt, depth=depth)
    if 'meta' in out:
        out['meta']['source'] = osp.basename(checkpoint) if isinstance(checkpoint,
                                                                       str) else '<dict>'
        out['meta']['released_source'] = source
    return out


def build_convert_parser() -> argparse.ArgumentParser:
    """Argument parser of ``tools/model_converters/convert_released.py``."""
    parser = argparse.ArgumentParser(
        description='Convert released DenseCL/PixPro/MoCo v2/SlotCon/VICRegL/DetCon weights to a '
        'validated mmdet, torchvision or detectron2 ResNet backbone.')
    parser.add_argument('checkpoint', help='released checkpoint')
    parser.add_argument('out', help='output file (.pth for mmdet/torchvision, .pkl for detectron2)')
    parser.add_argument('--source', choices=SOURCES, required=True,
                        help='which project released the checkpoint (decides its layout)')
    parser.add_argument(
        '--trust-pickle', action='store_true',
        help='allow reading a pickled release (--source detcon: a NumPy pickle of Haiku '
        'modules); only for files from the authors')
    add_output_arguments(parser)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Run the conversion command line.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        str: The path written.
    """
    args = build_convert_parser().parse_args(argv)
    out = convert_and_extract(args.checkpoint, args.source, fmt=args.fmt, depth=args.depth,
                              trust_pickle=args.trust_pickle)
    path = save_backbone(out, args.out, args.fmt)
    print(
        f'Saved {num_tensors(out, args.fmt)} tensors of the {args.source} backbone '
        f'({args.fmt} layout) to {path}')
    return path
