"""DAVIS-style label propagation as a training-time check, on a few clips, in memory.

The protocol of ``tools/benchmarks/davis/label_propagation.py`` (res4 at output stride 8, the
VFS settings, J and F as the DAVIS toolkit defines them) on a frozen copy of the live
backbone; the clips are read once and nothing is written.
"""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from torch import nn

from mmdense.registry import PROBES
from mmdense.utils import ConfigError
from .davis_benchmark import OUT_INDICES, STRIDES, build_config, propagate_sequence
from .davis_io import annotation_paths, frame_paths, read_frame, read_label_png, read_sequence_list
from .davis_metrics import count_objects, evaluate_objects, summarise
from .frozen_backbone import FrozenFeatures, frozen_copy

__all__ = ['LabelPropagationProbe']


@PROBES.register_module()
class LabelPropagationProbe:
    """J&F of propagating the first frame's masks through a few DAVIS-layout clips.

    Args:
        davis_root: A DAVIS folder (``JPEGImages/480p``, ``Annotations/480p``,
            ``ImageSets/2017``).
        split: Which sequence list.
        sequences: Names to use (default: the split's list).
        max_sequences: Use at most this many (the first ones), to bound the cost.
        variant: ``'vfs'`` or ``'crw'`` settings.
        short_side: Frames resized to this shorter side (None: as stored).
        demo_data: Write the synthetic DAVIS at ``davis_root`` (which must end in ``DAVIS``)
            when it is missing, with these arguments of
            :func:`~mmdense.datasets.demo.davis.generate_davis_demo_data` (the demo configs;
            None: the folder must exist).
    """

    def __init__(self, davis_root: str, split: str = 'val',
                 sequences: Optional[Sequence[str]] = None, max_sequences: int = 4,
                 variant: str = 'vfs', short_side: Optional[int] = None,
                 demo_data: Optional[dict] = None) -> None:
        if demo_data is not None:
            from mmdense.datasets.demo.davis import generate_davis_demo_data
            if osp.basename(osp.normpath(davis_root)) != 'DAVIS':
                raise ConfigError(f'label propagation probe: demo data is written to '
                                  f'<root>/DAVIS; davis_root={davis_root!r} must end in DAVIS.')
            generate_davis_demo_data(osp.dirname(osp.normpath(davis_root)), **demo_data)
        self.davis_root = davis_root
        self.split, self.sequences, self.max_sequences = split, sequences, max_sequences
        self.config = build_config(variant, short_side=short_side)
        self._clips = None

    def _load(self) -> dict:
        if self._clips is None:
            names = list(self.sequences or read_sequence_list(self.davis_root, self.split))
            self._clips = {}
            for name in names[:self.max_sequences]:
                frames = [read_frame(p) for p in frame_paths(self.davis_root, name)]
                gt = np.stack([read_label_png(p) for p in annotation_paths(self.davis_root, name)])
                self._clips[name] = (frames, gt)
        return self._clips

    def __call__(self, backbone: nn.Module) -> Dict[str, float]:
        """``{'davis_jf', 'davis_j', 'davis_f'}`` in percent for the current weights."""
        model = frozen_copy(backbone, out_indices=OUT_INDICES, strides=STRIDES)
        features = FrozenFeatures(model, device=str(next(model.parameters()).device))
        per_sequence = {}
        for name, (frames, gt) in self._load().items():
            labels = propagate_sequence(frames, gt[0], features, self.config,
                                        device=features.device)
            num_objects = count_objects(gt[0])
            per_sequence[name] = evaluate_objects(gt, np.stack(labels), num_objects)
        summary = summarise(per_sequence)
        return {'davis_jf': 100 * summary['J&F-Mean'], 'davis_j': 100 * summary['J-Mean'],
                'davis_f': 100 * summary['F-Mean']}

    def __repr__(self) -> str:
        return f'LabelPropagationProbe({osp.basename(self.davis_root)}, {self.split})'
