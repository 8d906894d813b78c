"""Label-free dense-correspondence probe of frozen backbone features.

Two augmented views of a held-out image are cut with known view boxes; every query cell of
view 1 is matched to its most cosine-similar key cell of view 2, and the match is correct when
the two cells' centres, mapped back into the original image, lie within one cell diagonal of
each other (the larger of the two views' diagonals, in original-image pixels: the geometry
PixPro uses for its positive pairs, :func:`~mmdense.models.utils.view_geometry.cell_distance`).
Only query cells whose centre lies inside view 2 count; the others have no true match.
Accuracy is reported at res4 and res5 (stride 16 and 32 of mmdet's ResNet), with two levels
that need no features (:func:`geometric_baselines`): chance, and the same-cell prior of
matching each cell to the cell of the same index. Views overlap much and a CNN's zero padding
tells a cell where it sits in its view, so even random weights score near that prior; it is
the level a backbone must beat, most of all at res5 (4 x 4 cells at 128 px).

It needs no labels and no downstream package, so it can follow a pre-training run while it
trains (:class:`CorrespondenceProbe` takes the live backbone and leaves it as it found it) and
rank checkpoints in seconds, where the dense transfer benchmarks take hours. No package ships
such a probe, hence this module; the command line is ``tools/benchmarks/correspondence.py``.

The code keeps geometry and features apart: :func:`correspondence_geometry` and
:func:`score_matches` work on view boxes and feature tensors alone (tested with hand-built
boxes and features), :func:`correspondence_accuracy` adds any ``views -> feature maps``
function, and :class:`CorrespondenceProbe` supplies one for a ResNet.
"""
import argparse
import json
import math
import os.path as osp
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmdense.datasets.transforms.random_resized_crop import compose_view_box
from mmdense.models.utils.view_geometry import cell_centres, cell_distance
from mmdense.registry import PROBES
from mmdense.utils import ConfigError
from mmdense.utils.atomic_file_backend import atomic_write_bytes
from .frozen_backbone import IMAGENET_MEAN, IMAGENET_STD, load_frozen_resnet

__all__ = ['STAGES', 'IMAGE_EXTENSIONS', 'ViewPair', 'sample_view_pairs', 'list_images',
           'correspondence_geometry', 'score_matches', 'geometric_baselines',
           'correspondence_accuracy', 'resnet_stage_features', 'CorrespondenceProbe',
           'build_parser', 'main']

# Stage name -> index of mmdet's ResNet stage (out_indices numbering: 0 = res2).
STAGES = {'res2': 0, 'res3': 1, 'res4': 2, 'res5': 3}
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')
# A match is correct within one cell diagonal; the slack absorbs rounding of centres that lie
# exactly one diagonal apart (diagonal neighbours of equal-size cells).
MATCH_RADIUS = 1.0 + 1e-6

FeaturesFn = Callable[[Sequence[np.ndarray]], Mapping[str, torch.Tensor]]


class ViewPair(NamedTuple):
    """Two views of one image and where they lie in it.

    A box ``(x1, y1, x2, y2)`` is in original-image pixels (continuous coordinates: pixel
    ``k`` covers ``[k, k + 1)``) and maps view coordinate ``u`` in [0, 1] to
    ``x1 + u * (x2 - x1)``, as the pre-training view boxes do (there normalised); a
    horizontally flipped view has ``x1 > x2``.
    """
    view1: np.ndarray  # (S, S, 3) BGR uint8
    view2: np.ndarray
    box1: np.ndarray  # (4, ) float64
    box2: np.ndarray
    image_index: int


def _sample_crop(rng: np.random.Generator, height: int, width: int, scale: Sequence[float],
                 ratio: Sequence[float], max_attempts: int = 10) -> Tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop draw (as RandomResizedCropWithBox makes it), from a
    numpy generator so that the probe never touches torch's global random state."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(max_attempts):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        w, h = int(round(height * max(ratio))), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def _cut_view(image: np.ndarray, rng: np.random.Generator, view_size: int,
              scale: Sequence[float], ratio: Sequence[float],
              flip_prob: float) -> Tuple[np.ndarray, np.ndarray]:
    height, width = image.shape[:2]
    top, left, h, w = _sample_crop(rng, height, width, scale, ratio)
    crop = image[top:top + h, left:left + w]
    # cv2 maps output pixel centres to input pixel centres, the linear map the box states.
    interpolation = cv2.INTER_AREA if view_size < min(h, w) else cv2.INTER_LINEAR
    view = cv2.resize(crop, (view_size, view_size), interpolation=interpolation)
    box = np.array([left, top, left + w, top + h], np.float64)
    if rng.uniform() < flip_prob:
        view = np.ascontiguousarray(view[:, ::-1])
        # A horizontal flip is the inner box (1, 0, 0, 1) of the view (exact: integer pixels).
        box = compose_view_box(box, np.array([1., 0., 0., 1.])).astype(np.float64)
    return view, box


def sample_view_pairs(images: Sequence[np.ndarray], num_pairs_per_image: int = 1,
                      view_size: int = 128, scale: Sequence[float] = (0.3, 1.0), seed: int = 0,
                      ratio: Sequence[float] = (3. / 4., 4. / 3.),
                      flip_prob: float = 0.5) -> List[ViewPair]:
    """Pairs of random resized crops (with random horizontal flips) of each image.

    Each view is an independent crop of area fraction in ``scale`` and aspect ratio in
    ``ratio`` (torchvision's draw), resized to ``view_size`` square and flipped with
    probability ``flip_prob``. The draws come from ``numpy.random.default_rng(seed)`` in a
    fixed order (image by image, pair by pair, view 1 then view 2), so the same arguments give
    the same pairs, bit for bit.

    Args:
        images: Original images, (H, W, 3) uint8 (any sizes).
        num_pairs_per_image: Pairs cut from each image.
        view_size: Side S of the square views.
        scale: Range of the crop area as a fraction of the image area.
        seed: Seed of the draws.
        ratio: Range of the crop aspect ratio (width / height).
        flip_prob: Probability of flipping each view horizontally.

    Returns:
        list[ViewPair]: ``len(images) * num_pairs_per_image`` pairs, image-major.
    """
    if num_pairs_per_image < 1 or view_size < 1:
        raise ValueError(f'need num_pairs_per_image >= 1 and view_size >= 1, got '
                         f'{num_pairs_per_image} and {view_size}')
    if not 0 < scale[0] <= scale[1] <= 1:
        raise ValueError(f'scale must satisfy 0 < min <= max <= 1, got {tuple(scale)}')
    if not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f'ratio must satisfy 0 < min <= max, got {tuple(ratio)}')
    rng = np.random.default_rng(seed)
    pairs = []
    for index, image in enumerate(images):
        for _ in range(num_pairs_per_image):
            view1, box1 = _cut_view(image, rng, view_size, scale, ratio, flip_prob)
            view2, box2 = _cut_view(image, rng, view_size, scale, ratio, flip_prob)
            pairs.append(ViewPair(view1, view2, box1, box2, index))
    return pairs


def list_images(folder: str, num_images: Optional[int] = None) -> List[str]:
    """The first ``num_images`` jpg/png files under ``folder`` (recursive, sorted by path).

    Hidden files and folders (names starting with ``.``) are skipped.

    Raises:
        ConfigError: ``folder`` is missing or holds no image; the message names it.
    """
    if not osp.isdir(folder):
        raise ConfigError(f'image folder {folder} does not exist: pass a folder of .jpg/.png '
                          'images (searched recursively) with --images.')
    root = Path(folder)
    paths = sorted(
        path for path in root.rglob('*')
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()
        and not any(part.startswith('.') for part in path.relative_to(root).parts))
    if not paths:
        raise ConfigError(f'image folder {folder} holds no {"/".join(IMAGE_EXTENSIONS)} '
                          'images (searched recursively).')
    return [str(path) for path in paths[:num_images]]


def _read_images(paths: Sequence[str]) -> List[np.ndarray]:
    images = []
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise ConfigError(f'image {path} cannot be read (not an image, or cut short).')
        images.append(image)
    return images


def correspondence_geometry(box_q: torch.Tensor, box_k: torch.Tensor, size_q: Tuple[int, int],
                            size_k: Optional[Tuple[int, int]] = None
                            ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cell distances between two views and which query cells have a true match.

    Args:
        box_q: Query (view 1) boxes ``(N, 4)`` in original-image pixels.
        box_k: Key (view 2) boxes ``(N, 4)``.
        size_q: ``(h, w)`` of the query feature map.
        size_k: ``(h, w)`` of the key feature map (defaults to ``size_q``).

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``(N, hq*wq, hk*wk)`` distances between cell
        centres in units of the larger of the two views' cell diagonals, and the ``(N, hq*wq)``
        bool mask of query cells whose centre lies inside the key view (row-major cells).
    """
    size_k = size_q if size_k is None else size_k
    box_q, box_k = box_q.double(), box_k.double()
    # cell_distance is linear in the box units: pixel boxes give pixel diagonals, so
    # non-square images weigh x and y alike.
    distance = cell_distance(box_q, box_k, tuple(size_q), tuple(size_k))
    centres = cell_centres(box_q, *size_q)  # (N, Q, 2)
    low = torch.minimum(box_k[:, :2], box_k[:, 2:])[:, None]
    high = torch.maximum(box_k[:, :2], box_k[:, 2:])[:, None]
    counted = ((centres >= low) & (centres <= high)).all(dim=-1)
    return distance, counted


def score_matches(query: torch.Tensor, key: torch.Tensor, box_q: torch.Tensor,
                  box_k: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Match each query cell to its most cosine-similar key cell and check the match.

    Args:
        query: View-1 features ``(N, C, hq, wq)``.
        key: View-2 features ``(N, C, hk, wk)``.
        box_q: View-1 boxes ``(N, 4)`` in original-image pixels.
        box_k: View-2 boxes ``(N, 4)``.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: Bool ``(N, hq*wq)`` masks: the match is correct
        (within one cell diagonal), and the query cell is counted (inside view 2). Ties go
        to the first key cell in row-major order.
    """
    if query.dim() != 4 or key.dim() != 4 or query.shape[:2] != key.shape[:2]:
        raise ValueError('query and key maps must be (N, C, H, W) with equal N and C, got '
                         f'{tuple(query.shape)} and {tuple(key.shape)}')
    q = F.normalize(query.flatten(2).float(), dim=1)  # (N, C, Q)
    k = F.normalize(key.flatten(2).float(), dim=1)  # (N, C, K)
    match = torch.einsum('ncq,nck->nqk', q, k).argmax(dim=2)  # (N, Q)
    distance, counted = correspondence_geometry(box_q.to(q.device), box_k.to(q.device),
                                                tuple(query.shape[2:]), tuple(key.shape[2:]))
    matched = distance.gather(2, match[:, :, None])[:, :, 0]
    return matched <= MATCH_RADIUS, counted


def geometric_baselines(box_q: torch.Tensor, box_k: torch.Tensor, size_q: Tuple[int, int],
                        size_k: Optional[Tuple[int, int]] = None
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
    """What matching without features scores, per query cell: the levels to beat.

    Args:
        box_q: Query (view 1) boxes ``(N, 4)`` in original-image pixels.
        box_k: Key (view 2) boxes ``(N, 4)``.
        size_q: ``(h, w)`` of the query feature map.
        size_k: ``(h, w)`` of the key feature map (defaults to ``size_q``).

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``(N, hq*wq)`` chance of a correct match when the
        key cell is drawn uniformly (float64), and whether the key cell with the query's own
        index is correct (bool; all False when the grids differ). Features that encode where
        a cell sits in its view (zero padding lets any CNN do so) earn the second for free.
    """
    size_k = size_q if size_k is None else size_k
    distance, _ = correspondence_geometry(box_q, box_k, size_q, size_k)
    within = distance <= MATCH_RADIUS
    chance = within.double().mean(dim=2)
    if tuple(size_q) != tuple(size_k):
        return chance, torch.zeros_like(within[:, :, 0])
    return chance, torch.diagonal(within, dim1=1, dim2=2)


def correspondence_accuracy(features_fn: FeaturesFn, pairs: Sequence[ViewPair],
                            stages: Sequence[str] = ('res4', 'res5'),
                            batch_size: int = 32) -> Dict[str, float]:
    """Dense-correspondence accuracy of ``features_fn`` on ``pairs``, per stage.

    Args:
        features_fn: Views (a list of (S, S, 3) BGR uint8 arrays) -> mapping from each name
            in ``stages`` to its feature maps ``(B, C, h, w)``, one per view, in order.
        pairs: From :func:`sample_view_pairs`.
        stages: Names of the feature maps to score.
        batch_size: Pairs per call of ``features_fn`` (it sees ``2 * batch_size`` views).

    Returns:
        dict: Per stage, over the counted query cells (percentages are NaN when none is
        counted): ``corr_<stage>``, percent matched correctly; ``num_queries_<stage>``, their
        number; and the feature-free levels of :func:`geometric_baselines`,
        ``same_cell_<stage>`` (percent whose same-index key cell is correct) and
        ``chance_<stage>`` (expected percent for a uniformly drawn key cell).
    """
    if not pairs:
        raise ValueError('no view pairs to score')
    sums = {stage: dict(correct=0, counted=0, same_cell=0, chance=0.0) for stage in stages}
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        features = features_fn([p.view1 for p in chunk] + [p.view2 for p in chunk])
        box_q = torch.from_numpy(np.stack([p.box1 for p in chunk]))
        box_k = torch.from_numpy(np.stack([p.box2 for p in chunk]))
        for stage in stages:
            maps = features[stage]
            hit, valid = score_matches(maps[:len(chunk)], maps[len(chunk):], box_q, box_k)
            chance, same_cell = geometric_baselines(box_q, box_k, tuple(maps.shape[2:]))
            valid = valid.cpu()
            sums[stage]['correct'] += int((hit.cpu() & valid).sum())
            sums[stage]['counted'] += int(valid.sum())
            sums[stage]['same_cell'] += int((same_cell & valid).sum())
            sums[stage]['chance'] += float(chance[valid].sum())
    results = {}
    for stage in stages:
        total = sums[stage]['counted']

        def percent(value: float) -> float:
            return 100.0 * value / total if total else float('nan')

        results[f'corr_{stage}'] = percent(sums[stage]['correct'])
        results[f'num_queries_{stage}'] = total
        results[f'same_cell_{stage}'] = percent(sums[stage]['same_cell'])
        results[f'chance_{stage}'] = percent(sums[stage]['chance'])
    return results


def _unwrap(module: nn.Module) -> nn.Module:
    # DistributedDataParallel and MMDistributedDataParallel keep the model in `.module`; the
    # probe calls the model itself, so no wrapper syncs buffers or gradients for it.
    while isinstance(getattr(module, 'module', None), nn.Module):
        module = module.module
    return module


@contextmanager
def _inference(module: nn.Module) -> Iterator[None]:
    """No gradients, every submodule in eval mode, each one's own mode restored afterwards.

    The flags are set directly rather than through ``eval()``/``train()``: mmdet's
    ``ResNet.train`` also re-freezes stages and BN layers, and a submodule a training
    setup keeps in eval mode (``norm_eval``) must come back as it was, not as its parent.
    """
    modes = [(m, m.training) for m in module.modules()]
    for m, _ in modes:
        m.training = False
    try:
        with torch.no_grad():
            yield
    finally:
        for m, mode in modes:
            m.training = mode


def resnet_stage_features(backbone: nn.Module, images: torch.Tensor,
                          indices: Sequence[int]) -> List[torch.Tensor]:
    """Feature maps of ResNet stages ``indices`` (0 = res2), leaving ``out_indices`` alone.

    When the module's ``out_indices`` already cover ``indices`` its own forward runs and the
    outputs are picked; otherwise the stem and residual stages are run directly, as mmdet's
    (and mmpretrain's) ``ResNet.forward`` runs them, up to the last stage needed.

    Args:
        backbone: A ResNet (mmdet or mmpretrain), possibly wrapped in ``.module``.
        images: ``(B, 3, H, W)`` normalised images on the backbone's device.
        indices: Stage indices wanted.

    Returns:
        list[torch.Tensor]: One ``(B, C, h, w)`` map per entry of ``indices``.
    """
    net = _unwrap(backbone)
    out_indices = getattr(net, 'out_indices', None)
    if out_indices is not None and all(i in out_indices for i in indices):
        outs = net(images)
        # ResNet.forward appends the requested stages in stage order.
        order = sorted(out_indices)
        return [outs[order.index(i)] for i in indices]
    if not hasattr(net, 'res_layers'):
        raise TypeError(f'{type(net).__name__} is not a ResNet with res_layers and its '
                        f'out_indices {out_indices} do not cover stages {tuple(indices)}')
    x = net.stem(images) if getattr(net, 'deep_stem', False) else net.relu(
        net.norm1(net.conv1(images)))
    x = net.maxpool(x)
    feats = {}
    for i, layer_name in enumerate(net.res_layers[:max(indices) + 1]):
        x = getattr(net, layer_name)(x)
        feats[i] = x
    return [feats[i] for i in indices]


@PROBES.register_module()
class CorrespondenceProbe:
    """The probe on a fixed set of view pairs of the images of a folder.

    The pairs are cut once, here, so every call (each checkpoint, each epoch of a run) is
    scored on the same views.

    Args:
        image_dir: Folder of .jpg/.png images, searched recursively; the first
            ``num_images`` in sorted path order are used.
        num_images: Images to use.
        view_size: Side of the square views; a multiple of 32, so res5 cells tile a view.
        scale: Range of the crop area fraction.
        seed: Seed of the view draws.
        num_pairs_per_image: View pairs per image.
        stages: Stages to score (keys of :data:`STAGES`).
        batch_size: Pairs per forward pass (twice as many views).
        mean: Per-channel RGB mean on the 0-255 scale (the pre-training normalisation).
        std: Per-channel RGB standard deviation.
    """

    def __init__(self, image_dir: str, num_images: int = 32, view_size: int = 128,
                 scale: Sequence[float] = (0.3, 1.0), seed: int = 0, num_pairs_per_image: int = 1,
                 stages: Sequence[str] = ('res4', 'res5'), batch_size: int = 32,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        if num_images < 1:
            raise ConfigError(f'num_images must be at least 1, got {num_images}')
        if view_size < 32 or view_size % 32:
            raise ConfigError(f'view_size must be a positive multiple of 32 (the res5 stride), '
                              f'got {view_size}')
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise ConfigError(f'unknown stages {unknown}; choose from {tuple(STAGES)}')
        self.image_paths = list_images(image_dir, num_images)
        self.image_dir = image_dir
        self.view_size = view_size
        self.scale = tuple(scale)
        self.seed = seed
        self.stages = tuple(stages)
        self.batch_size = batch_size
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.pairs = sample_view_pairs(_read_images(self.image_paths), num_pairs_per_image,
                                       view_size, scale, seed)

    def _to_tensor(self, views: Sequence[np.ndarray], device: torch.device,
                   dtype: torch.dtype) -> torch.Tensor:
        # As FrozenFeatures.to_tensor: BGR uint8 -> normalised RGB (B, 3, S, S).
        batch = torch.from_numpy(np.stack([v[..., ::-1] for v in views]).copy())
        batch = batch.to(device).permute(0, 3, 1, 2).float()
        batch = (batch - self.mean.to(device)) / self.std.to(device)
        return batch.to(dtype)

    def evaluate(self, backbone: nn.Module) -> Dict[str, float]:
        """Accuracy and counted queries per stage (see :func:`correspondence_accuracy`).

        Runs without gradients with every submodule in eval mode (BN on its running
        statistics, which are not updated) and restores each submodule's training mode
        afterwards; parameters, ``requires_grad`` and ``out_indices`` are left alone.

        Args:
            backbone: A ResNet, in any mode, on any device, possibly wrapped in ``.module``.

        Returns:
            dict: ``corr_<stage>`` (percent), ``num_queries_<stage>``, ``same_cell_<stage>``
            and ``chance_<stage>`` for each stage (see :func:`correspondence_accuracy`).
        """
        net = _unwrap(backbone)
        param = next(net.parameters())
        indices = [STAGES[s] for s in self.stages]

        def features_fn(views: Sequence[np.ndarray]) -> Dict[str, torch.Tensor]:
            images = self._to_tensor(views, param.device, param.dtype)
            maps = resnet_stage_features(net, images, indices)
            return dict(zip(self.stages, maps))

        with _inference(net):
            return correspondence_accuracy(features_fn, self.pairs, self.stages, self.batch_size)

    def __call__(self, backbone: nn.Module) -> Dict[str, float]:
        """``corr_<stage>`` accuracies (percent) of ``backbone``, e.g. ``corr_res4``."""
        results = self.evaluate(backbone)
        return {f'corr_{s}': results[f'corr_{s}'] for s in self.stages}


def _load_frozen_backbone(checkpoint: str, encoder: str) -> nn.Module:
    # res4 and res5 at their normal strides 16 and 32 (the probe reads them from forward).
    return load_frozen_resnet(checkpoint, encoder, out_indices=(STAGES['res4'], STAGES['res5']))


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``tools/benchmarks/correspondence.py``."""
    parser = argparse.ArgumentParser(
        description='Label-free dense correspondence of frozen ResNet features: matches '
        'between two augmented views of each image, correct within one cell diagonal.')
    parser.add_argument('--checkpoint', required=True,
                        help='tools/train.py checkpoint or backbone file')
    parser.add_argument('--encoder', choices=('backbone', 'momentum_backbone'),
                        default='backbone', help='encoder of a training checkpoint')
    parser.add_argument('--images', required=True,
                        help='folder of .jpg/.png images (searched recursively)')
    parser.add_argument('--num-images', type=int, default=32,
                        help='first N images in sorted order (default 32)')
    parser.add_argument('--view-size', type=int, default=128,
                        help='side of the square views, a multiple of 32 (default 128)')
    parser.add_argument('--pairs-per-image', type=int, default=1,
                        help='view pairs per image (default 1)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the views (default 0)')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (default: cuda if available)')
    parser.add_argument('--out', help='JSON file for the results and settings')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the command line; print one line and return (and with ``--out`` write) the record."""
    args = build_parser().parse_args(argv)
    start = time.time()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    probe = CorrespondenceProbe(args.images, num_images=args.num_images,
                                view_size=args.view_size, seed=args.seed,
                                num_pairs_per_image=args.pairs_per_image)
    backbone = _load_frozen_backbone(args.checkpoint, args.encoder).to(device)
    results = probe.evaluate(backbone)
    record = dict(task='correspondence', **results, pretrain=osp.abspath(args.checkpoint),
                  encoder=args.encoder, images=osp.abspath(args.images),
                  num_images=len(probe.image_paths), num_pairs=len(probe.pairs),
                  view_size=args.view_size, scale=list(probe.scale), seed=args.seed,
                  device=device, seconds=round(time.time() - start, 1))
    line = ', '.join(f'{s} {results[f"corr_{s}"]:.2f}% of {results[f"num_queries_{s}"]} '
                     f'query cells (same-cell prior {results[f"same_cell_{s}"]:.2f}%, chance '
                     f'{results[f"chance_{s}"]:.2f}%)' for s in probe.stages)
    print(f'dense correspondence over {len(probe.pairs)} view pairs of '
          f'{len(probe.image_paths)} images ({args.view_size} px): {line}')
    if args.out:
        atomic_write_bytes(json.dumps(record, indent=2).encode(), args.out, mode=0o644)
    return record
