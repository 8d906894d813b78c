"""Throughput of a config's two-view training pipeline, per data-loader worker.

Dense pre-training on a GPU node is often bound by the CPU augmentation of two
views per image, so what matters is how many samples one worker process makes
per second. :func:`benchmark_pipeline` runs the config's dataset pipeline in one
process with one thread (as a DataLoader worker runs it: mmengine sets
``cv2.setNumThreads(0)`` and ``OMP_NUM_THREADS=1`` in workers) on real JPEG files,
interleaved with the MoCo v2 reference pipeline (torchvision transforms on PIL
images, as in the MoCo and DenseCL code) on the same files, and times every leaf
transform of ours to give a cost breakdown.
"""
import random
import statistics
import time
from collections import OrderedDict
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config

from mmdense.registry import TRANSFORMS

__all__ = [
    'benchmark_pipeline', 'build_config_pipeline', 'build_reference_pipeline', 'TimedTransform'
]


class TimedTransform:
    """Wrap a transform and add its wall time to ``totals[name]``."""

    def __init__(self, transform: Callable, name: str, totals: Dict[str, float]) -> None:
        self.transform = transform
        self.name = name
        self.totals = totals

    def __call__(self, results: dict) -> Optional[dict]:
        start = time.perf_counter()
        out = self.transform(results)
        self.totals[self.name] = self.totals.get(self.name, 0.) + time.perf_counter() - start
        return out

    def __repr__(self) -> str:
        return f'Timed({self.transform!r})'


def _instrument(compose: Compose, totals: Dict[str, float]) -> None:
    """Wrap every leaf transform of ``compose``, descending into nested pipelines.

    Containers (``MultiView``'s ``pipelines``, mmcv's ``RandomApply``/``RandomChoice``
    ``transforms``) are not timed themselves, so the leaves add up without double
    counting; their own overhead shows as the remainder.
    """
    for i, transform in enumerate(compose.transforms):
        nested = [getattr(transform, attr) for attr in ('pipelines', 'transforms')
                  if hasattr(transform, attr)]
        inner = []
        for item in nested:
            inner += item if isinstance(item, (list, tuple)) else [item]
        inner = [c for c in inner if isinstance(c, Compose)]
        if inner:
            for child in inner:
                _instrument(child, totals)
        else:
            compose.transforms[i] = TimedTransform(transform, type(transform).__name__, totals)


def build_config_pipeline(config: str, totals: Optional[Dict[str, float]] = None) -> Compose:
    """The training pipeline of ``config``'s dataset, optionally instrumented."""
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(config)
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:  # RepeatDataset and friends
        dataset = dataset.dataset
    with DefaultScope.overwrite_default_scope('mmdense'):
        pipeline = Compose([TRANSFORMS.build(t) for t in dataset.pipeline])
    if totals is not None:
        _instrument(pipeline, totals)
    return pipeline


def build_reference_pipeline(size: int = 224) -> Callable[[str], List[torch.Tensor]]:
    """MoCo v2's two-view augmentation as its reference code writes it (torchvision on PIL).

    PIL decode and RGB conversion, RandomResizedCrop(scale 0.2-1), ColorJitter
    (0.4, 0.4, 0.4, 0.1) p=0.8, grayscale p=0.2, PIL Gaussian blur sigma in
    [0.1, 2] p=0.5, horizontal flip, ToTensor and Normalize, twice per image.
    """
    from PIL import Image, ImageFilter
    from torchvision import transforms as T

    class _PILGaussianBlur:
        def __call__(self, img):
            return img.filter(ImageFilter.GaussianBlur(radius=random.uniform(0.1, 2.0)))

    view = T.Compose([
        T.RandomResizedCrop(size, scale=(0.2, 1.)),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([_PILGaussianBlur()], p=0.5),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])

    def run(path: str) -> List[torch.Tensor]:
        with open(path, 'rb') as f:
            img = Image.open(f).convert('RGB')
        return [view(img), view(img)]

    return run


def benchmark_pipeline(config: str,
                       image_paths: List[str],
                       repeats: int = 3,
                       warmup: int = 4,
                       reference_size: Optional[int] = 224,
                       seed: int = 0) -> dict:
    """Samples/s of ``config``'s pipeline and of the reference, in one interleaved run.

    Each repeat runs ours over all images, then the reference over the same images;
    the median over repeats is reported. One thread, as in a DataLoader worker.

    Args:
        config: Config whose ``train_dataloader.dataset.pipeline`` is timed.
        image_paths: JPEG files (each sample reads one and makes its views).
        repeats: Timed passes over the images per pipeline.
        warmup: Untimed samples per pipeline first (imports, caches).
        reference_size: Crop size of the reference pipeline; None skips it.
        seed: Seed of python/numpy/torch generators.

    Returns:
        dict: ``{'ours': {'samples_per_s', 'ms_per_sample'}, 'reference': {...} or
        None, 'ratio': ours/reference or None, 'breakdown': {transform: ms per
        sample}}`` where a sample is one image made into all its views.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    totals: Dict[str, float] = OrderedDict()
    ours = build_config_pipeline(config, totals)
    reference = build_reference_pipeline(reference_size) if reference_size else None

    def run_ours(path: str):
        out = ours(dict(img_path=path))
        if out is None:
            raise RuntimeError(f'{config}: the pipeline rejected {path}.')
        return out

    try:
        for path in image_paths[:warmup]:
            run_ours(path)
            if reference is not None:
                reference(path)
        totals.clear()
        times = {'ours': [], 'reference': []}
        for _ in range(repeats):
            for name, fn in (('ours', run_ours), ('reference', reference)):
                if fn is None:
                    continue
                start = time.perf_counter()
                for path in image_paths:
                    fn(path)
                times[name].append((time.perf_counter() - start) / len(image_paths))
    finally:
        torch.set_num_threads(threads)

    def summary(values: List[float]) -> Optional[dict]:
        if not values:
            return None
        sec = statistics.median(values)
        return dict(samples_per_s=1. / sec, ms_per_sample=sec * 1e3)

    result = dict(ours=summary(times['ours']), reference=summary(times['reference']))
    result['ratio'] = (result['ours']['samples_per_s'] / result['reference']['samples_per_s']
                       if result['reference'] else None)
    samples = repeats * len(image_paths)
    breakdown = OrderedDict((name, total / samples * 1e3) for name, total in totals.items())
    # Whatever the leaves do not account for: containers, copies, packing glue.
    breakdown['(other)'] = max(result['ours']['ms_per_sample'] - sum(breakdown.values()), 0.)
    result['breakdown'] = breakdown
    return result
