"""Extract a pre-trained ResNet backbone from an mmdense checkpoint for transfer.

MoCo v2 and DenseCL hold the online (query) encoder at state-dict prefix
``backbone.`` and the EMA key encoder at ``momentum_backbone.``. Which one
transfers is the algorithm's ``transfer_encoder`` (``backbone`` unless the
method's authors transfer the teacher, as SlotCon's do); without an explicit
choice it is read from the algorithm type in the checkpoint's ``meta['cfg']``
(the config text the Runner stores). Downstream
detection/segmentation wants only one of them, as a plain ResNet state dict that
``torch.load`` reads under its ``weights_only`` default. This module picks one
encoder, checks it against the key set and shapes of an ``mmdet`` ResNet of the
same architecture, and writes it as an mmdet/torchvision checkpoint or a
detectron2 ``.pkl``.

The command-line wrapper is ``tools/model_converters/extract_backbone.py``.
"""
import argparse
import ast
import io
import os.path as osp
import pickle
import re
from typing import Dict, Optional, Sequence, Tuple, Union

import torch

from mmdense.utils.atomic_file_backend import atomic_write_bytes
from mmdense.version import __version__
from .key_check import state_mismatches
from .vit_extraction import extract_vit, is_vit_state

ENCODERS = ('backbone', 'momentum_backbone')
FORMATS = ('mmdet', 'torchvision', 'detectron2')

_LAYER_BLOCK = re.compile(r'^layer(\d)\.(\d+)\.')


def _load_source(checkpoint: Union[dict, str]) -> Tuple[Dict[str, torch.Tensor], str]:
    """Return the flat state dict of ``checkpoint`` and a name for its source."""
    state, source, _ = _load_checkpoint(checkpoint)
    return state, source


def _load_checkpoint(checkpoint: Union[dict, str]) -> Tuple[Dict[str, torch.Tensor], str, dict]:
    """The flat state dict, a name for the source, and the checkpoint dict itself."""
    if isinstance(checkpoint, str):
        # Runner checkpoints carry mmengine/numpy objects in ``meta`` and
        # ``message_hub``; the loader allow-lists exactly those.
        from mmdense.utils import load_checkpoint_file
        source = osp.basename(checkpoint)
        checkpoint = load_checkpoint_file(checkpoint)
    else:
        source = '<dict>'
    if not isinstance(checkpoint, dict):
        raise ValueError(f'Expected a checkpoint dict, got {type(checkpoint).__name__}.')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        raise ValueError("The checkpoint's 'state_dict' is not a dict.")
    return state, source, checkpoint


def _algorithm_type(cfg_text: str) -> Optional[str]:
    """The ``type`` of the top-level ``model = dict(...)`` in a config text, or None.

    The text is parsed, never executed: it comes from a checkpoint file.
    """
    try:
        tree = ast.parse(cfg_text)
    except SyntaxError:
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == 'model' for t in node.targets)
                and isinstance(node.value, ast.Call)):
            for kw in node.value.keywords:
                if kw.arg == 'type' and isinstance(kw.value, ast.Constant):
                    return str(kw.value.value)
    return None


def default_encoder(checkpoint: dict) -> Tuple[str, str]:
    """The encoder a checkpoint's algorithm transfers, and why.

    The algorithm type comes from ``meta['cfg']``; its class's ``transfer_encoder``
    (:class:`~mmdense.models.algorithms.BaseSelfSupervisor`: ``'backbone'``;
    SlotCon: ``'momentum_backbone'``) is the answer. Checkpoints without a
    readable config, or of an unknown type, get ``'backbone'``.

    Args:
        checkpoint: A loaded checkpoint dict.

    Returns:
        tuple: ``(encoder, reason)``, the reason a sentence for the user.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    cfg_text = meta.get('cfg') if isinstance(meta, dict) else None
    algo = _algorithm_type(cfg_text) if isinstance(cfg_text, str) else None
    if algo is None:
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
        if any(k.startswith('momentum_grouping.') for k in state):
            # SlotCon's momentum prototypes: no other algorithm has them. Its teacher
            # transfers, and taking the student silently would be the wrong encoder.
            return 'momentum_backbone', ('the checkpoint records no config, but its '
                                         'momentum_grouping.* keys are SlotCon\'s, whose '
                                         'teacher transfers')
        return 'backbone', ('the checkpoint records no config (meta["cfg"]), so the online '
                            'encoder is taken')
    from mmdense.registry import MODELS
    from mmdense.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cls = MODELS.get(algo)
    encoder = getattr(cls, 'transfer_encoder', None) if isinstance(cls, type) else None
    if encoder not in ENCODERS:
        return 'backbone', (f'its algorithm {algo!r} is not an mmdense algorithm with a '
                            'transfer_encoder, so the online encoder is taken')
    return encoder, f'the default of its algorithm {algo} (transfer_encoder)'


def infer_resnet_arch(state: Dict[str, torch.Tensor]) -> Tuple[int, int]:
    """Infer ``(depth, base_channels)`` of a ResNet state dict (prefix stripped).

    Depth comes from the number of blocks per stage, and whether blocks have a
    ``conv3`` (Bottleneck) or not (BasicBlock), which tells 34 from 50.
    """
    from mmdet.models.backbones import ResNet
    from mmdet.models.backbones.resnet import Bottleneck

    if 'conv1.weight' not in state:
        raise ValueError("Missing key 'conv1.weight' (the stem convolution): cannot infer the "
                         'ResNet width. Is this a ResNet backbone?')
    base_channels = int(state['conv1.weight'].shape[0])
    blocks: Dict[int, set] = {}
    for key in state:
        m = _LAYER_BLOCK.match(key)
        if m:
            blocks.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    counts = tuple(len(blocks.get(i, ())) for i in range(1, 5))
    bottleneck = any(k.endswith('.conv3.weight') for k in state)
    for depth, (block, stage_blocks) in ResNet.arch_settings.items():
        if tuple(stage_blocks) == counts and (block is Bottleneck) == bottleneck:
            return depth, base_channels
    raise ValueError(
        f'Cannot infer the ResNet depth: blocks per stage {counts}, '
        f"{'Bottleneck' if bottleneck else 'BasicBlock'} blocks match none of "
        f'{sorted(ResNet.arch_settings)}. Pass depth=... explicitly to see which keys differ.')


def _expected_shapes(depth: int, base_channels: int) -> Dict[str, torch.Size]:
    """Key -> shape of an ``mmdet`` ResNet with these settings (built on meta, no memory)."""
    from mmdet.models.backbones import ResNet
    with torch.device('meta'):
        model = ResNet(depth=depth, base_channels=base_channels)
    return {k: v.shape for k, v in model.state_dict().items()}


def _validate(state: Dict[str, torch.Tensor], depth: int, base_channels: int, where: str) -> None:
    """Raise a ValueError listing every missing, unexpected or mis-shaped key."""
    # BN's num_batches_tracked buffer is bookkeeping: older checkpoints lack it
    # and loaders tolerate its absence, so it may be missing but is kept if present.
    problems = state_mismatches(state, _expected_shapes(depth, base_channels),
                                optional=('num_batches_tracked', ))
    if not problems:
        return
    raise ValueError(
        f"'{where}' does not match an mmdet ResNet-{depth} (base_channels={base_channels}): "
        + '; '.join(problems) + '. Nothing was written. Check that the checkpoint comes from a '
        'ResNet pre-training run and the --encoder choice, or pass the right depth.')


def to_detectron2_key(key: str) -> str:
    """Rename one torchvision/mmdet ResNet key to detectron2's ResNet naming.

    Args:
        key: e.g. ``'layer1.0.bn1.weight'`` or ``'conv1.weight'``.

    Returns:
        str: e.g. ``'res2.0.conv1.norm.weight'`` or ``'stem.conv1.weight'``.
    """
    if key.startswith('conv1.'):
        return 'stem.' + key
    if key.startswith('bn1.'):
        return 'stem.conv1.norm.' + key[len('bn1.'):]
    m = _LAYER_BLOCK.match(key)
    if m is None:
        raise ValueError(f'Not a ResNet key: {key!r}')
    # detectron2 counts stages from the stride-4 stem output: layer1 is res2.
    prefix = f'res{int(m.group(1)) + 1}.{m.group(2)}.'
    rest = key[m.end():]
    rest = re.sub(r'^bn(\d)\.', r'conv\1.norm.', rest)
    rest = re.sub(r'^downsample\.0\.', 'shortcut.', rest)
    rest = re.sub(r'^downsample\.1\.', 'shortcut.norm.', rest)
    return prefix + rest


def extract_backbone(checkpoint: Union[dict, str],
                     encoder: Optional[str] = None,
                     fmt: str = 'mmdet',
                     depth: Optional[int] = None) -> dict:
    """Pick one encoder of a pre-training checkpoint as a validated ResNet checkpoint.

    Args:
        checkpoint: A Runner checkpoint (dict with ``state_dict``), a bare state
            dict, or the path of either.
        encoder: ``'backbone'`` (online/query encoder, what DenseCL and MoCo
            release for transfer) or ``'momentum_backbone'`` (EMA key encoder, what
            SlotCon transfers); None: the checkpoint's algorithm's default
            (:func:`default_encoder`), recorded in ``meta['encoder_reason']``.
        fmt: ``'mmdet'``, ``'torchvision'`` (same keys; the two differ only in
            ``meta['format']``) or ``'detectron2'``.
        depth: ResNet depth to validate against; inferred from the blocks per
            stage when None. The width (``base_channels``) is always inferred
            from ``conv1.weight``.

    Returns:
        dict: For mmdet/torchvision ``{'state_dict': {key: tensor}, 'meta':
        {str: str|int}}``; for detectron2 ``{'model': {d2_key: ndarray},
        '__author__': 'mmdense', 'matching_heuristics': True}``, without the
        ``num_batches_tracked`` buffers (detectron2's BN layers have none).

    Raises:
        ValueError: Unknown encoder/format, no key with the encoder prefix, or
            a key set/shape that is not an mmdet ResNet of that depth.
    """
    if encoder is not None and encoder not in ENCODERS:
        raise ValueError(f'encoder must be one of {ENCODERS}, got {encoder!r}.')
    if fmt not in FORMATS:
        raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}.')
    full, source, loaded = _load_checkpoint(checkpoint)
    if encoder is None:
        encoder, reason = default_encoder(loaded)
    else:
        reason = 'chosen explicitly'
    prefix = encoder + '.'
    # Default layout: a channels-last pre-training run (the R50 configs) saves its weights
    # in that layout, and downstream code may assume contiguous tensors.
    state = {k[len(prefix):]: v.detach().cpu().clone(memory_format=torch.contiguous_format)
             for k, v in full.items() if k.startswith(prefix)}
    if not state:
        heads = sorted({k.split('.', 1)[0] for k in full})
        raise ValueError(f"No key starts with '{prefix}' in {source}; its top-level prefixes are "
                         f'{heads}. Pick --encoder among those, or check the file is an mmdense '
                         'pre-training checkpoint. Nothing was written.')
    if is_vit_state(state):  # mmseg VisionTransformer (docs/vit.md)
        return extract_vit(state, source, encoder, fmt, depth=depth)
    inferred_depth, base_channels = infer_resnet_arch(state)
    depth = inferred_depth if depth is None else depth
    _validate(state, depth, base_channels, f'{source}:{prefix}*')

    if fmt == 'detectron2':
        model = {to_detectron2_key(k): v.numpy() for k, v in state.items()
                 if not k.endswith('num_batches_tracked')}
        return {'model': model, '__author__': 'mmdense', 'matching_heuristics': True}
    meta = dict(source=source, encoder=encoder, encoder_reason=reason, format=fmt,
                depth=int(depth), base_channels=base_channels, mmdense_version=__version__)
    return {'state_dict': state, 'meta': meta}


def save_backbone(state: dict, out_path: str, fmt: str) -> str:
    """Write the output of :func:`extract_backbone` atomically.

    The file is written to a temporary name in the destination folder and moved
    into place with ``os.replace``, so an interrupted run never leaves a
    truncated checkpoint that a later transfer run would pick up.

    Args:
        state: What :func:`extract_backbone` returned for ``fmt``.
        out_path: Destination (``.pth`` for mmdet/torchvision, ``.pkl`` for detectron2).
        fmt: ``'mmdet'``, ``'torchvision'`` or ``'detectron2'``.

    Returns:
        str: ``out_path``.
    """
    if fmt not in FORMATS:
        raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}.')
    expected_key = 'model' if fmt == 'detectron2' else 'state_dict'
    if expected_key not in state:
        raise ValueError(f"A {fmt} backbone needs a '{expected_key}' entry; pass what "
                         f"extract_backbone(..., fmt='{fmt}') returned.")
    buffer = io.BytesIO()
    if fmt == 'detectron2':
        pickle.dump(state, buffer)
    else:
        torch.save(state, buffer)
    atomic_write_bytes(buffer.getvalue(), out_path)
    return out_path


def build_extract_parser() -> argparse.ArgumentParser:
    """Argument parser of ``tools/model_converters/extract_backbone.py``."""
    parser = argparse.ArgumentParser(
        description='Extract the ResNet backbone of an mmdense pre-training checkpoint for '
        'detection/segmentation transfer.')
    parser.add_argument('checkpoint', help='pre-training checkpoint written by tools/train.py')
    parser.add_argument('out', help='output file (.pth for mmdet/torchvision, .pkl for detectron2)')
    parser.add_argument(
        '--encoder', choices=ENCODERS, default=None,
        help="which encoder to export (default: the one the checkpoint's algorithm transfers, "
        "read from its config: 'backbone', the online/query encoder, as DenseCL's and MoCo's "
        "released weights; 'momentum_backbone', the EMA teacher, for SlotCon)")
    add_output_arguments(parser)
    return parser


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--format`` and ``--depth``, shared by the backbone-writing converters."""
    parser.add_argument('--format', dest='fmt', choices=FORMATS, default='mmdet',
                        help='output layout (default: mmdet)')
    parser.add_argument('--depth', type=int, default=None,
                        help='ResNet depth to validate against (default: inferred)')


def num_tensors(state: dict, fmt: str) -> int:
    """Number of backbone tensors in what :func:`extract_backbone` returned for ``fmt``."""
    return len(state['model' if fmt == 'detectron2' else 'state_dict'])


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Run the extraction command line.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        str: The path written.
    """
    args = build_extract_parser().parse_args(argv)
    encoder, reason = args.encoder, 'chosen with --encoder'
    if encoder is None:
        from mmdense.utils import load_checkpoint_file
        encoder, reason = default_encoder(load_checkpoint_file(args.checkpoint, mmap=True))
    print(f'Encoder: {encoder} ({reason})')
    state = extract_backbone(args.checkpoint, encoder=encoder, fmt=args.fmt, depth=args.depth)
    out = save_backbone(state, args.out, args.fmt)
    print(f'Saved {num_tensors(state, args.fmt)} {encoder} tensors ({args.fmt} layout) to {out}')
    return out
