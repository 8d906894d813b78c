"""Throughput of a config's two-view training pipeline, per data-loader worker.

Dense pre-training on a GPU node is often bound by the CPU augmentation of two
views per image, so what matters is how many samples one worker process makes
per second. :func:`benchmark_pipeline` runs the config's dataset pipeline in one
process with one thread (as a DataLoader worker runs it: mmengine sets
``cv2.setNumThreads(0)`` and ``OMP_NUM_THREADS=1`` in workers) on real JPEG files,
interleaved with the MoCo v2 reference pipeline (torchvision transforms on PIL
images, as in the MoCo and DenseCL code) on the same files, and times every leaf
transform of ours to give a cost breakdown. :func:`benchmark_data` compares, in one
interleaved run, the reference with (a) the config's pipeline, (b) the same with
reduced-size JPEG decode, and (c) the CPU part of a pipeline whose photometric
augmentation runs in the data preprocessor on the device, whose cost per image it
measures separately; :func:`write_bench_jpegs` makes ImageNet-sized test files.
"""
import copy
import os
import os.path as osp
import random
import statistics
import time
from collections import Counter, OrderedDict
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from mmdense.registry import MODELS, TRANSFORMS
from mmdense.utils.atomic_publish import publish_atomically

__all__ = [
    'benchmark_pipeline', 'benchmark_data', 'build_config_pipeline', 'build_pipeline',
    'build_reference_pipeline', 'drop_photometric', 'set_reduced_decode', 'time_device_part',
    'write_bench_jpegs', 'TimedTransform', 'PHOTOMETRIC_TRANSFORMS'
]

# Transforms the worker pipeline no longer runs when augmentation moves to the device.
PHOTOMETRIC_TRANSFORMS = ('ColorJitter', 'RandomGrayscale', 'GaussianBlur', 'Solarize')
# Bumped when write_bench_jpegs writes other bytes for the same arguments.
BENCH_JPEG_VERSION = 1


class TimedTransform:
    """Wrap a transform and add its wall time to ``totals[name]``.

    Attribute look-ups go to the wrapped transform (e.g. ``accepts_lazy_img``, which
    ``MultiView`` reads), so instrumenting changes nothing but the timing. With
    ``scales``, counts the ``decode_scale`` that a call adds to its output.
    """

    def __init__(self, transform: Callable, name: str, totals: Dict[str, float],
                 scales: Optional[Counter] = None) -> None:
        self.transform = transform
        self.name = name
        self.totals = totals
        self.scales = scales

    def __call__(self, results: dict) -> Optional[dict]:
        had_scale = 'decode_scale' in results
        start = time.perf_counter()
        out = self.transform(results)
        self.totals[self.name] = self.totals.get(self.name, 0.) + time.perf_counter() - start
        if self.scales is not None and not had_scale and isinstance(out, dict) \
                and 'decode_scale' in out:
            self.scales[out['decode_scale']] += 1  # counted by the transform that set it
        return out

    def __getattr__(self, name: str):
        if name in ('transform', 'name', 'totals', 'scales'):  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self.transform, name)

    def __repr__(self) -> str:
        return f'Timed({self.transform!r})'


def _instrument(compose: Compose, totals: Dict[str, float],
                scales: Optional[Counter] = None) -> None:
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
                _instrument(child, totals, scales)
        else:
            compose.transforms[i] = TimedTransform(transform, type(transform).__name__, totals,
                                                   scales)


def _dataset_cfg(cfg: Config):
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:  # RepeatDataset and friends
        dataset = dataset.dataset
    return dataset


def set_reduced_decode(pipeline: List[dict], value: bool) -> List[dict]:
    """A copy of a pipeline config with ``reduced_decode=value`` on every image loader."""
    out = copy.deepcopy(list(pipeline))
    for transform in out:
        if transform.get('type') in ('LoadImageFromFile', 'mmdense.LoadImageFromFile'):
            transform['reduced_decode'] = value
    return out


def drop_photometric(pipeline: List[dict]) -> List[dict]:
    """A copy of a pipeline config without its photometric transforms.

    Inside ``MultiView`` view pipelines, removes :data:`PHOTOMETRIC_TRANSFORMS` and the
    ``RandomApply``/``RandomChoice`` wrappers around them, keeping crop, flip and any
    other geometric transform: the worker part of a pipeline whose colour augmentation
    runs on the device, for configs that have no such variant.
    """

    def photometric(transform: dict) -> bool:
        kind = str(transform.get('type', '')).split('.')[-1]
        if kind in ('RandomApply', 'RandomChoice'):
            inner = transform.get('transforms', [])
            inner = [t for group in inner for t in (group if isinstance(group, list) else [group])]
            return all(photometric(t) for t in inner)
        return kind in PHOTOMETRIC_TRANSFORMS

    out = copy.deepcopy(list(pipeline))
    for transform in out:
        if str(transform.get('type', '')).split('.')[-1] == 'MultiView':
            transform['transforms'] = [[t for t in view if not photometric(t)]
                                       for view in transform['transforms']]
    return out


def build_pipeline(pipeline: List[dict], totals: Optional[Dict[str, float]] = None,
                   scales: Optional[Counter] = None) -> Compose:
    """Build a pipeline config in the mmdense scope, optionally instrumented.

    Args:
        pipeline: Transform configs.
        totals: Filled with seconds per leaf transform name when given.
        scales: Counts the ``decode_scale`` of every reduced-decode crop when given.
    """
    with DefaultScope.overwrite_default_scope('mmdense'):
        built = Compose([TRANSFORMS.build(t) for t in pipeline])
    if totals is not None:
        _instrument(built, totals, scales)
    return built


def build_config_pipeline(config: str, totals: Optional[Dict[str, float]] = None,
                          reduced_decode: Optional[bool] = None) -> Compose:
    """The training pipeline of ``config``'s dataset, optionally instrumented.

    Args:
        config: Config file.
        totals: See :func:`build_pipeline`.
        reduced_decode: Force the loaders' ``reduced_decode`` on or off; None keeps
            the config's.
    """
    pipeline = _dataset_cfg(Config.fromfile(config)).pipeline
    if reduced_decode is not None:
        pipeline = set_reduced_decode(pipeline, reduced_decode)
    return build_pipeline(pipeline, totals)


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


def write_bench_jpegs(root: str = 'data/bench', num_images: int = 200, width: int = 500,
                      height: int = 375, quality: int = 90, seed: int = 0) -> List[str]:
    """ImageNet-sized JPEGs of demo scenes, written once under ``root`` and reused.

    ImageNet's training images are mostly about 500 x 375 (or 375 x 500) at JPEG quality
    around 90; each file here is a demo scene (:func:`~mmdense.datasets.demo.scenes.
    render_scene`, one scene type after another) rendered at the longer side and
    centre-cropped to ``width`` x ``height``.

    Args:
        root: Parent folder; the files go to ``root/{width}x{height}-q{quality}-n{num}``.
        num_images: Number of files.
        width: Image width.
        height: Image height.
        quality: JPEG quality.
        seed: Scene seed.

    Returns:
        list[str]: The file paths, sorted.
    """
    from mmdense.datasets.demo.scenes import SCENE_TYPES, render_scene

    def write(out_dir: str) -> None:
        side = max(width, height)
        top, left = (side - height) // 2, (side - width) // 2
        for index in range(num_images):
            scene_type = SCENE_TYPES[index % len(SCENE_TYPES)]
            img, _ = render_scene(np.random.default_rng([seed, index]), side, scene_type)
            img = np.ascontiguousarray(img[top:top + height, left:left + width])
            ok, data = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise RuntimeError(f'cv2 could not encode benchmark image {index}')
            with open(osp.join(out_dir, f'{scene_type}_{index:05d}.jpg'), 'wb') as f:
                f.write(data.tobytes())

    name = f'{width}x{height}-q{quality}-n{num_images}'
    folder = publish_atomically(
        root, name, write, f'mmdense bench jpegs v{BENCH_JPEG_VERSION}: {name} seed={seed}')
    return sorted(osp.join(folder, f) for f in os.listdir(folder) if f.endswith('.jpg'))


def _summary(values: List[float]) -> Optional[dict]:
    if not values:
        return None
    sec = statistics.median(values)
    return dict(samples_per_s=1. / sec, ms_per_sample=sec * 1e3)


def _time_interleaved(pipelines: Dict[str, Callable[[str], object]], image_paths: List[str],
                      repeats: int, chunk: int = 10) -> Dict[str, List[float]]:
    """Seconds per sample of each pipeline per pass over the images.

    Within a pass the pipelines take turns every ``chunk`` images (in a rotating order),
    so load from other processes, which changes over seconds, hits them alike.
    """
    times: Dict[str, List[float]] = {name: [] for name in pipelines}
    names = list(pipelines)
    for _ in range(repeats):
        total = dict.fromkeys(names, 0.)
        for turn, first in enumerate(range(0, len(image_paths), chunk)):
            paths = image_paths[first:first + chunk]
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                fn = pipelines[name]
                start = time.perf_counter()
                for path in paths:
                    fn(path)
                total[name] += time.perf_counter() - start
        for name in names:
            times[name].append(total[name] / len(image_paths))
    return times


def _runner(pipeline: Compose, label: str) -> Callable[[str], dict]:
    def run(path: str) -> dict:
        out = pipeline(dict(img_path=path))
        if out is None:
            raise RuntimeError(f'{label}: the pipeline rejected {path}.')
        return out

    return run


class _OneThread:
    """One torch thread and no OpenCV threads (as in a DataLoader worker), seeded."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        self.threads, self.cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
        torch.set_num_threads(1)
        cv2.setNumThreads(0)
        random.seed(self.seed)
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)

    def __exit__(self, *exc) -> None:
        torch.set_num_threads(self.threads)
        cv2.setNumThreads(self.cv2_threads)


def _breakdown(totals: Dict[str, float], samples: int, ms_per_sample: float) -> 'OrderedDict':
    breakdown = OrderedDict((name, total / samples * 1e3) for name, total in totals.items())
    # Whatever the leaves do not account for: containers, copies, packing glue.
    breakdown['(other)'] = max(ms_per_sample - sum(breakdown.values()), 0.)
    return breakdown


def benchmark_pipeline(config: str,
                       image_paths: List[str],
                       repeats: int = 3,
                       warmup: int = 4,
                       reference_size: Optional[int] = 224,
                       seed: int = 0) -> dict:
    """Samples/s of ``config``'s pipeline and of the reference, in one interleaved run.

    Each repeat runs ours and the reference over all images, taking turns every few
    images; the median over repeats is reported. One thread, as in a DataLoader worker.

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
    with _OneThread(seed):
        totals: Dict[str, float] = OrderedDict()
        pipelines = {'ours': _runner(build_config_pipeline(config, totals), config)}
        if reference_size:
            pipelines['reference'] = build_reference_pipeline(reference_size)
        for path in image_paths[:warmup]:
            for fn in pipelines.values():
                fn(path)
        totals.clear()
        times = _time_interleaved(pipelines, image_paths, repeats)
    result = dict(ours=_summary(times['ours']), reference=_summary(times.get('reference', [])))
    result['ratio'] = (result['ours']['samples_per_s'] / result['reference']['samples_per_s']
                       if result['reference'] else None)
    result['breakdown'] = _breakdown(totals, repeats * len(image_paths),
                                     result['ours']['ms_per_sample'])
    return result


def _preprocessor_cfg(cfg: Config) -> dict:
    model = cfg.get('model')
    if isinstance(model, dict) and model.get('data_preprocessor'):
        return copy.deepcopy(model['data_preprocessor'])
    if cfg.get('data_preprocessor'):
        return copy.deepcopy(cfg['data_preprocessor'])
    return dict(type='SelfSupDataPreprocessor')


def time_device_part(preprocessor_cfg: dict, samples: List[dict], device: str = 'cpu',
                     repeats: int = 3, seed: int = 0) -> dict:
    """Cost per image of a data preprocessor (the device part) on a batch of worker outputs.

    Args:
        preprocessor_cfg: ``model.data_preprocessor`` config, built with mmdense's
            ``MODELS`` registry.
        samples: Worker pipeline outputs (``PackSelfSupInputs`` dicts), one batch.
        device: Where to run it ('cpu', 'cuda').
        repeats: Timed calls (after one untimed); the median is reported.
        seed: Seed of torch's generator (the preprocessor may draw augmentations).

    Returns:
        dict: ``ms_per_image`` (one image = all its views), ``batch_size``, ``device``,
        ``type`` (the preprocessor class).
    """
    with DefaultScope.overwrite_default_scope('mmdense'):
        preprocessor = MODELS.build(preprocessor_cfg).to(device)
    batch = pseudo_collate(samples)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    torch.manual_seed(seed)
    with torch.no_grad():
        preprocessor(copy.copy(batch), training=True)
        sync()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            preprocessor(copy.copy(batch), training=True)
            sync()
            times.append(time.perf_counter() - start)
    return dict(ms_per_image=statistics.median(times) / len(samples) * 1e3,
                batch_size=len(samples), device=device, type=type(preprocessor).__name__)


# Row order and labels of benchmark_data's pipelines.
DATA_BENCH_ROWS = OrderedDict([
    ('reference', 'MoCo v2 reference (torchvision on PIL)'),
    ('ours', '(a) ours'),
    ('reduced', '(b) ours, reduced decode'),
    ('device_aug', '(c) device aug, CPU part, reduced decode'),
    ('device_aug_full_decode', "(c') device aug, CPU part, full decode"),
])


def benchmark_data(config: str,
                   image_paths: List[str],
                   device_aug_config: Optional[str] = None,
                   repeats: int = 3,
                   warmup: int = 4,
                   reference_size: Optional[int] = 224,
                   device: str = 'cpu',
                   device_batch_size: int = 32,
                   seed: int = 0) -> dict:
    """The reference and our pipelines (a), (b), (c) per worker, interleaved; the device part.

    Pipelines, all run per sample (one image made into all its views) on one thread,
    each pass running every pipeline over all images, taking turns every 10 images,
    medians over passes:

    - ``reference``: MoCo v2's torchvision augmentation (:func:`build_reference_pipeline`);
    - ``ours`` (a): ``config``'s pipeline with full-size decode;
    - ``reduced`` (b): the same with ``LoadImageFromFile(reduced_decode=True)``;
    - ``device_aug`` (c): the worker pipeline of ``device_aug_config`` (its photometric
      augmentation runs in its data preprocessor), with reduced decode; without
      ``device_aug_config``, ``config``'s pipeline minus its photometric transforms
      (:func:`drop_photometric`) and ``config``'s preprocessor (normalisation only);
    - ``device_aug_full_decode`` (c'): (c) with full-size decode.

    The device part, ``device_aug_config``'s ``model.data_preprocessor`` (or its top-level
    ``data_preprocessor``), is timed on one batch of (c)'s outputs (:func:`time_device_part`).

    Args:
        config: Config whose dataset pipeline gives (a) and (b).
        image_paths: JPEG files.
        device_aug_config: Config whose pipeline and preprocessor give (c).
        repeats: Timed passes.
        warmup: Untimed samples per pipeline first.
        reference_size: Crop size of the reference; None skips it.
        device: Where the device part runs.
        device_batch_size: Batch of worker outputs the device part is timed on.
        seed: Seed of python/numpy/torch generators.

    Returns:
        dict: ``pipelines``: {name: {'samples_per_s', 'ms_per_sample'}} in
        :data:`DATA_BENCH_ROWS` order (no 'reference' when skipped); ``ratios``: {name:
        samples/s over the reference's} (empty without it); ``breakdowns``: {name:
        {transform: ms per sample}} for ours; ``decode_scales``: {name: Counter of the
        reduced crops' scales}; ``device_part``: :func:`time_device_part`'s dict plus
        ``config``; ``device_aug_source``: the config (c) came from, or 'derived'.
    """
    base = _dataset_cfg(Config.fromfile(config)).pipeline
    if device_aug_config is not None:
        aug_cfg = Config.fromfile(device_aug_config)
        aug_pipeline, preprocessor = _dataset_cfg(aug_cfg).pipeline, _preprocessor_cfg(aug_cfg)
    else:
        aug_pipeline = drop_photometric(base)
        preprocessor = _preprocessor_cfg(Config.fromfile(config))
    specs = OrderedDict([
        ('ours', set_reduced_decode(base, False)),
        ('reduced', set_reduced_decode(base, True)),
        ('device_aug', set_reduced_decode(aug_pipeline, True)),
        ('device_aug_full_decode', set_reduced_decode(aug_pipeline, False)),
    ])
    with _OneThread(seed):
        totals = {name: OrderedDict() for name in specs}
        scales = {name: Counter() for name in specs}
        built = {name: build_pipeline(spec, totals[name], scales[name])
                 for name, spec in specs.items()}
        runners = OrderedDict()
        if reference_size:
            runners['reference'] = build_reference_pipeline(reference_size)
        for name, pipeline in built.items():
            runners[name] = _runner(pipeline, f'{name} pipeline')
        for path in image_paths[:warmup]:
            for fn in runners.values():
                fn(path)
        for name in specs:
            totals[name].clear()
            scales[name].clear()
        times = _time_interleaved(runners, image_paths, repeats)
        pipelines = OrderedDict((name, _summary(times[name])) for name in DATA_BENCH_ROWS
                                if name in times)
        samples = repeats * len(image_paths)
        breakdowns = OrderedDict((name, _breakdown(totals[name], samples,
                                                   pipelines[name]['ms_per_sample']))
                                 for name in specs)
        decode_scales = {name: Counter(scales[name]) for name in ('reduced', 'device_aug')}
        batch = [runners['device_aug'](p) for p in
                 (image_paths * device_batch_size)[:device_batch_size]]
        device_part = time_device_part(preprocessor, batch, device=device, repeats=repeats,
                                       seed=seed)
    device_part['config'] = device_aug_config or f'{config} (derived: photometric dropped)'
    reference = pipelines.get('reference')
    ratios = OrderedDict((name, r['samples_per_s'] / reference['samples_per_s'])
                         for name, r in pipelines.items() if reference and name != 'reference')
    return dict(pipelines=pipelines, ratios=ratios, breakdowns=breakdowns,
                decode_scales=decode_scales,
                device_part=device_part, device_aug_source=device_aug_config or 'derived')
