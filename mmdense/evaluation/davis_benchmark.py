"""DAVIS 2017 semi-supervised video object segmentation with frozen features: run and score.

Two modes, one scoring. ``--checkpoint`` propagates the first frame's objects through
every sequence of a split with a pre-trained ResNet's res4 features at output stride 8
(:mod:`~mmdense.evaluation.label_propagation`, the VFS or CRW setting), writes the
results as indexed PNGs in the layout the DAVIS toolkit reads, and scores them;
``--predictions`` scores a results folder from any method. Scoring follows
davis2017-evaluation's semi-supervised task (:mod:`~mmdense.evaluation.davis_metrics`):
objects are the ids of the first annotation, the first and last frames are left out, and
the dataset means are over objects.

The frame handling is VFS's (``vanilla_tracker.py`` and its test pipeline): frames are
resized bilinearly to the short side, the first annotation with nearest neighbour to the
resized frame (and again to the feature grid), and the soft labels are upsampled to the
annotation's resolution before the argmax, so results are written at the size of the
annotations.

Command line: ``tools/benchmarks/davis/label_propagation.py``; ``docs/evaluation.md``.
"""
import argparse
import dataclasses
import json
import os.path as osp
import sys
import time
from typing import List, Optional, Sequence

import cv2
import numpy as np
from PIL import Image

from mmdense.utils.atomic_file_backend import atomic_write_bytes
from mmdense.utils.preflight import ConfigError
from .davis_io import (annotation_paths, check_davis_root, frame_paths, read_frame, read_label_png,
                       read_predictions, read_sequence_list, write_sequence_results)
from .davis_metrics import count_objects, evaluate_objects, summarise
from .label_propagation import CRW, VFS_RESNET, PropagationConfig, propagate_labels

__all__ = ['VARIANTS', 'build_config', 'resize_short_side', 'propagate_sequence',
           'run_propagation', 'evaluate_results', 'format_report', 'main']

VARIANTS = {'vfs': VFS_RESNET, 'crw': CRW}
# res4 at output stride 8: VFS's test_cfg (out_indices=(2,), strides=(1, 2, 1, 1)).
OUT_INDICES, STRIDES = (2, ), (1, 2, 1, 1)
SUMMARY_KEYS = ('J-Mean', 'J-Recall', 'J-Decay', 'F-Mean', 'F-Recall', 'F-Decay', 'J&F-Mean')


def _optional(kind: type):
    """An argparse type: ``none`` or 0 mean None (unrestricted / native), else ``kind``."""

    def parse(text: str):
        if text.lower() == 'none':
            return None
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f'expected >= 0 or none, got {text}')
        return value or None

    parse.__name__ = kind.__name__
    return parse


def build_config(variant: str = 'vfs', **overrides) -> PropagationConfig:
    """The settings of ``variant`` with the given fields replaced (None values ignored,
    except ``radius``/``short_side``, where a given None means unrestricted/native)."""
    if variant not in VARIANTS:
        raise ConfigError(f'--variant {variant!r} is unknown: choose one of {sorted(VARIANTS)}.')
    nullable = ('radius', 'short_side')
    changes = {k: v for k, v in overrides.items() if v is not None or k in nullable}
    try:
        return dataclasses.replace(VARIANTS[variant], **changes)
    except ValueError as exc:
        raise ConfigError(f'propagation settings: {exc}.') from None


def resize_short_side(image: np.ndarray, short_side: Optional[int]) -> np.ndarray:
    """Resize (bilinear) so the shorter side is ``short_side``, keeping the aspect ratio.

    Sizes round as mmcv's ``rescale_size`` (``int(side * scale + 0.5)``), which VFS uses.
    """
    if short_side is None:
        return image
    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    size = (int(width * scale + 0.5), int(height * scale + 0.5))
    if size == (width, height):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def propagate_sequence(frames: Sequence[np.ndarray], first_annotation: np.ndarray, features,
                       config: PropagationConfig, device=None) -> List[np.ndarray]:
    """Label maps of every frame of one sequence, at the annotation's resolution.

    Args:
        frames: BGR uint8 frames (H, W, 3) at their stored size.
        first_annotation: uint8 ids (H, W) of frame 0.
        features: BGR uint8 image -> (C, h, w) features (e.g. ``FrozenFeatures``).
        config: Propagation settings (``short_side`` is applied here).
        device: Where the affinities are computed.

    Returns:
        list[np.ndarray]: uint8 (H, W) maps; frame 0 is the annotation itself.
    """
    resized = [resize_short_side(frame, config.short_side) for frame in frames]
    height, width = resized[0].shape[:2]
    first = np.asarray(Image.fromarray(first_annotation).resize((width, height), Image.NEAREST))
    outputs = propagate_labels(resized, first, features, config,
                               output_size=first_annotation.shape, device=device)
    outputs[0] = first_annotation.astype(np.uint8)
    return outputs


def _sequences(davis_root: str, split: str, year: str,
               sequences: Optional[Sequence[str]]) -> List[str]:
    check_davis_root(davis_root)
    return list(sequences) if sequences else read_sequence_list(davis_root, split, year)


def _frame_name(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def _load_features(checkpoint: str, encoder: str, device: Optional[str]):
    from .frozen_backbone import FrozenFeatures, load_frozen_resnet
    backbone = load_frozen_resnet(checkpoint, encoder, out_indices=OUT_INDICES, strides=STRIDES)
    return FrozenFeatures(backbone, device=device)


def run_propagation(davis_root: str, out_dir: str, checkpoint: str, config: PropagationConfig,
                    sequences: Sequence[str], encoder: str = 'backbone',
                    device: Optional[str] = None) -> None:
    """Propagate and write results for every sequence: ``out_dir/<sequence>/<frame>.png``.

    Args:
        davis_root: The DAVIS folder.
        out_dir: Results root.
        checkpoint: A tools/train.py checkpoint or a backbone file.
        config: Propagation settings.
        sequences: Sequence names.
        encoder: Encoder of a training checkpoint.
        device: ``cpu``, ``cuda`` ... (default: CUDA when available).
    """
    features = _load_features(checkpoint, encoder, device)
    for i, sequence in enumerate(sequences, start=1):
        start = time.time()
        frames = frame_paths(davis_root, sequence)
        annotations = annotation_paths(davis_root, sequence)
        first_path = annotations[0]
        if _frame_name(first_path) != _frame_name(frames[0]):
            raise ConfigError(f'the first annotation {first_path} does not belong to the first '
                              f'frame {frames[0]}: restore the annotation of frame 0.')
        first = read_label_png(first_path)
        labels = propagate_sequence([read_frame(p) for p in frames], first, features, config,
                                    device=features.device)
        write_sequence_results(out_dir, sequence, [_frame_name(p) for p in frames], labels)
        print(f'[{i}/{len(sequences)}] {sequence}: {len(frames)} frames, '
              f'{count_objects(first)} objects, {time.time() - start:.1f} s',
              flush=True)


def _evaluate_sequence(davis_root: str, pred_dir: str, sequence: str) -> dict:
    annotations = annotation_paths(davis_root, sequence)
    gt = np.stack([read_label_png(p) for p in annotations])
    num_objects = count_objects(gt[0])
    if num_objects == 0:
        raise ConfigError(f'annotation {annotations[0]} has no object: the first frame of a '
                          'semi-supervised sequence must show its objects (ids 1..K).')
    pred = read_predictions(pred_dir, sequence, [_frame_name(p) for p in annotations],
                            gt.shape[1:])
    try:
        objects = evaluate_objects(gt, pred, num_objects)
    except ValueError as exc:
        raise ConfigError(f'results of {sequence} in {pred_dir}: {exc}; write only the ids '
                          'of the first annotation (0 for background).') from None
    j = float(np.mean([o['J']['mean'] for o in objects]))
    f = float(np.mean([o['F']['mean'] for o in objects]))
    return {'num_objects': num_objects, 'J-Mean': j, 'F-Mean': f, 'J&F-Mean': (j + f) / 2,
            'objects': {str(k): obj for k, obj in enumerate(objects, start=1)}}


def evaluate_results(davis_root: str, pred_dir: str, sequences: Sequence[str]) -> dict:
    """Score a results folder on the given sequences.

    Args:
        davis_root: The DAVIS folder.
        pred_dir: Results root (``<sequence>/<frame>.png``).
        sequences: Sequence names.

    Returns:
        dict: ``sequences`` (per sequence: ``num_objects``, its means and per-object
        ``J``/``F`` mean, recall and decay), ``summary`` (the toolkit's global table),
        and ``J``, ``F``, ``JF`` (its J-Mean, F-Mean and J&F-Mean).
    """
    if not osp.isdir(pred_dir):
        raise ConfigError(f'results folder {pred_dir} does not exist: pass the folder that '
                          'holds <sequence>/<frame>.png (--predictions).')
    per_sequence = {s: _evaluate_sequence(davis_root, pred_dir, s) for s in sequences}
    summary = summarise({s: list(r['objects'].values()) for s, r in per_sequence.items()})
    return {'sequences': per_sequence, 'summary': summary, 'J': summary['J-Mean'],
            'F': summary['F-Mean'], 'JF': summary['J&F-Mean']}


def format_report(results: dict) -> str:
    """The per-sequence table and the dataset summary as text."""
    width = max([len('sequence')] + [len(s) for s in results['sequences']])
    lines = [f'{"sequence":<{width}}  objects  J-Mean  F-Mean     J&F']
    for name, seq in results['sequences'].items():
        lines.append(f'{name:<{width}}  {seq["num_objects"]:>7}  {seq["J-Mean"]:6.3f}  '
                     f'{seq["F-Mean"]:6.3f}  {seq["J&F-Mean"]:6.3f}')
    summary = results['summary']
    lines += ['', '  '.join(f'{key:>8}' for key in SUMMARY_KEYS),
              '  '.join(f'{summary[key]:8.3f}' for key in SUMMARY_KEYS)]
    return '\n'.join(lines)


def _write_json(path: str, content: dict) -> None:
    atomic_write_bytes(json.dumps(content, indent=2).encode(), path, mode=0o644)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='DAVIS 2017 semi-supervised VOS: label propagation with a frozen '
        'pre-trained ResNet (--checkpoint), or scoring of any results folder (--predictions).')
    parser.add_argument('--davis-root', required=True,
                        help='the DAVIS folder (JPEGImages/, Annotations/, ImageSets/)')
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--checkpoint', help='tools/train.py checkpoint or backbone file')
    mode.add_argument('--predictions', help='results folder to score (<sequence>/<frame>.png)')
    parser.add_argument('--out', help='results folder to write (with --checkpoint)')
    parser.add_argument('--results', help='results.json path (default: in the results folder)')
    parser.add_argument('--encoder', default='backbone',
                        choices=('backbone', 'momentum_backbone'))
    parser.add_argument('--variant', default='vfs', choices=sorted(VARIANTS))
    parser.add_argument('--context', type=int, help='previous frames in the window')
    parser.add_argument('--topk', type=int, help='context cells kept per query')
    parser.add_argument('--temperature', type=float, help='softmax temperature')
    parser.add_argument('--radius', type=_optional(float), default=argparse.SUPPRESS,
                        help='neighbourhood radius in feature cells (0 or none: unrestricted)')
    parser.add_argument('--short-side', type=_optional(int), default=argparse.SUPPRESS,
                        help='resize frames to this short side (0 or none: native)')
    parser.add_argument('--split', default='val')
    parser.add_argument('--year', default='2017')
    parser.add_argument('--sequences', nargs='+', help='only these sequences')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (default: cuda if available)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Command line entry; returns what it writes to results.json."""
    args = parse_args(argv)
    sequences = _sequences(args.davis_root, args.split, args.year, args.sequences)
    # `config` and `pretrain` are what tools/benchmarks/collect_results.py puts in its rows.
    record = {'config': f'davis{args.year}-{args.split}', 'davis_root': args.davis_root,
              'split': args.split, 'year': args.year}
    if args.checkpoint:
        if not args.out:
            raise ConfigError('--checkpoint needs --out DIR, the folder the results go to.')
        overrides = {k: getattr(args, k) for k in ('context', 'topk', 'temperature')}
        overrides.update({k: getattr(args, k) for k in ('radius', 'short_side') if k in args})
        config = build_config(args.variant, **overrides)
        run_propagation(args.davis_root, args.out, args.checkpoint, config, sequences,
                        args.encoder, args.device)
        pred_dir = args.out
        record.update(config=f'label-propagation-{args.variant}_{record["config"]}',
                      pretrain=osp.abspath(args.checkpoint), encoder=args.encoder,
                      variant=args.variant, settings=dataclasses.asdict(config))
    else:
        pred_dir = args.predictions
    results = evaluate_results(args.davis_root, pred_dir, sequences)
    record.update(predictions=pred_dir, **results)
    print(format_report(results))
    path = args.results or osp.join(pred_dir, 'results.json')
    _write_json(path, record)
    print(f'results: {path}', file=sys.stderr)
    return record
