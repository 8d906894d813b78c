"""Turn a training checkpoint into the files a model zoo publishes.

A Runner checkpoint carries optimizer moments, scheduler and message-hub state:
three times the model's size, useless to anyone who fine-tunes, and (with numpy
and mmengine objects in it) not loadable with ``torch.load(weights_only=True)``.
:func:`publish_checkpoint` keeps the model ``state_dict`` and a plain ``meta``
(config text, versions, epoch/iter), names the file after the first 8 hex digits
of its sha256 the way OpenMMLab model zoos do (``PREFIX_YYYYMMDD-1a2b3c4d.pth``),
and writes the backbone-only file for transfer next to it, hashed the same way.

The command-line wrapper is ``tools/model_converters/publish_model.py``.
"""
import argparse
import datetime
import hashlib
import io
import os.path as osp
import re
from typing import Any, Dict, Optional, Sequence, Tuple

import mmengine
import torch

from mmdense.utils.atomic_file_backend import atomic_write_bytes
from mmdense.version import __version__
from .backbone_extraction import ENCODERS, extract_backbone

__all__ = ['publish_checkpoint', 'sha256_of_file', 'hash_in_name', 'build_publish_parser', 'main']

# ``-`` then exactly 8 lower-case hex digits right before the extension.
_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8})\.(pth|pkl)$')
# Meta entries copied from the Runner checkpoint when present; everything else
# (dataset_meta of an unlabeled set, hook leftovers) is not needed to use the weights.
_KEPT_META = ('cfg', 'epoch', 'iter', 'seed', 'experiment_name', 'time', 'mmengine_version')


def sha256_of_file(path: str, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (checkpoints are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


def hash_in_name(path: str) -> Optional[str]:
    """The 8-hex hash a published file name ends with, or None if it has none."""
    match = _HASH_IN_NAME.search(osp.basename(path))
    return match.group(1) if match else None


def _plain(value: Any, where: str) -> Any:
    """Convert numpy scalars and containers to plain Python, refusing anything else.

    ``weights_only=True`` loading accepts only plain values besides tensors, so
    anything else in ``meta`` would make the published file unloadable safely.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, 'item') and getattr(value, 'ndim', None) == 0:  # numpy / 0-d tensor
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v, f'{where}[{i}]') for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _plain(v, f'{where}.{k}') for k, v in value.items()}
    raise TypeError(f'meta entry {where} is a {type(value).__name__}, which a weights_only '
                    'load cannot read; drop it from the checkpoint meta before publishing.')


def _write_hashed(obj: dict, out_prefix: str, date: str) -> str:
    """Serialise ``obj``, name it after its sha256 and move it into place atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getvalue()
    short = hashlib.sha256(data).hexdigest()[:8]
    out_path = f'{out_prefix}_{date}-{short}.pth'
    atomic_write_bytes(data, out_path, mode=0o644)  # published files are meant to be shared
    return out_path


def _load_training_checkpoint(path: str) -> dict:
    # Imported here: the Runner allow-list lives with the checkpoint utilities.
    from mmdense.utils.checkpoint import load_checkpoint_file
    checkpoint = load_checkpoint_file(path)
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        found = sorted(checkpoint)[:8] if isinstance(checkpoint,
                                                     dict) else type(checkpoint).__name__
        raise ValueError(
            f"{path} has no 'state_dict' entry (found {found}); publish_model takes "
            'a checkpoint written by tools/train.py (e.g. work_dirs/<cfg>/epoch_200.pth).')
    return checkpoint


def publish_checkpoint(checkpoint_path: str,
                       out_prefix: str,
                       date: Optional[str] = None,
                       encoder: str = 'backbone',
                       with_backbone: bool = True) -> Tuple[str, Optional[str]]:
    """Write the published model file and, optionally, its backbone-only file.

    Args:
        checkpoint_path: A checkpoint written by ``tools/train.py``.
        out_prefix: Path prefix of the outputs, e.g.
            ``work_dirs/publish/densecl_r50_8xb32-coslr-200e_in1k``.
        date: ``YYYYMMDD`` in the file names; today (UTC) when None.
        encoder: The encoder the backbone file takes (see
            :func:`~mmdense.transfer.backbone_extraction.extract_backbone`).
        with_backbone: Also write ``{out_prefix}_backbone_{date}-{hash}.pth``.

    Returns:
        tuple: The model file path and the backbone file path (None when not written).
    """
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d')
    if not re.fullmatch(r'\d{8}', date):
        raise ValueError(f'date must be YYYYMMDD, got {date!r}.')
    checkpoint = _load_training_checkpoint(checkpoint_path)
    old_meta = checkpoint.get('meta') or {}
    meta = {k: _plain(old_meta[k], f'meta.{k}') for k in _KEPT_META if k in old_meta}
    meta.update(mmdense_version=__version__, torch_version=torch.__version__.split('+')[0],
                mmengine_version=mmengine.__version__, published=date)
    state_dict: Dict[str, torch.Tensor] = {
        k: v.detach().cpu().contiguous() for k, v in checkpoint['state_dict'].items()}
    model_path = _write_hashed({'state_dict': state_dict, 'meta': meta}, out_prefix, date)

    backbone_path = None
    if with_backbone:
        backbone = extract_backbone({'state_dict': state_dict}, encoder=encoder, fmt='mmdet')
        backbone['meta'].update(source=osp.basename(model_path), published=date)
        backbone_path = _write_hashed(backbone, f'{out_prefix}_backbone', date)
    return model_path, backbone_path


def build_publish_parser() -> argparse.ArgumentParser:
    """Arguments of ``tools/model_converters/publish_model.py``."""
    parser = argparse.ArgumentParser(
        description='Strip a training checkpoint to its weights and name it after its sha256.')
    parser.add_argument('checkpoint', help='checkpoint written by tools/train.py')
    parser.add_argument('out_prefix', help='output path prefix; the date and hash are appended')
    parser.add_argument('--date', default=None,
                        help='YYYYMMDD in the file name (default: today, UTC)')
    parser.add_argument('--encoder', choices=ENCODERS, default='backbone',
                        help='encoder written to the backbone-only file (default: the online one)')
    parser.add_argument('--no-backbone', action='store_true',
                        help='do not write the backbone-only transfer file')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> Tuple[str, Optional[str]]:
    """Run the publishing command line; prints each file with its full sha256."""
    args = build_publish_parser().parse_args(argv)
    paths = publish_checkpoint(args.checkpoint, args.out_prefix, date=args.date,
                               encoder=args.encoder, with_backbone=not args.no_backbone)
    for path in paths:
        if path is not None:
            print(f'{path}  sha256={sha256_of_file(path)}')
    return paths
