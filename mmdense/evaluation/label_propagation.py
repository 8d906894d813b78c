"""Semi-supervised video object segmentation by label propagation in frozen feature space.

The protocol of VFS (Xu & Wang, ICCV 2021, ``mmaction/models/trackers/vanilla_tracker.py``
and ``mmaction/models/common/local_attention.py``) and CRW (Jabri et al., NeurIPS 2020,
``code/test.py`` and ``code/utils/test_utils.py``) for a ResNet: each frame's features
(res4 at output stride 8, L2-normalised along channels) are compared with those of a
context of frames, the first frame (whose labels are given) and a window of the
``context`` previous ones (whose labels were predicted); every query cell keeps its
``topk`` most similar context cells among those closer than ``radius`` cells, weighs them
by a softmax of similarity / ``temperature`` and takes the weighted sum of their soft
labels. The soft labels are upsampled (bilinear) to the output size, optionally min-max
normalised per object, and arg-maxed.

The two references differ in details that change the numbers, each a field of
:class:`PropagationConfig`:

- first-frame labels onto the feature grid: nearest neighbour (PIL's, VFS) or bilinear
  on the one-hot maps (``cv2.resize``, CRW);
- whether the radius also restricts the first frame (VFS) or not (CRW's long memory);
- the window of previous frames while fewer than ``context`` exist: VFS takes frames
  ``max(0, t - context) .. t - 1``, so frame 0 is in the context twice early on; CRW pads
  the clip with ``context`` copies of frame 0, so the window always has ``context``
  frames; ``'distinct'`` holds each frame once;
- min-max normalisation of the upsampled soft labels per object (VFS; CRW's
  ``--norm_mask``, off by default, normalises per pixel instead and is not offered).

Void pixels (255) of the first frame are propagated as background. Query cells are scored
in square blocks against only the cells within reach of the radius: the same result as
scoring the whole frame, with about a third of the work at VFS's setting on 480p frames.

No package ships this for mmdet/mmseg backbones (VFS builds on mmaction 0.x, CRW on its
own code), hence this module; it takes any ``features(frame) -> (C, h, w)`` callable, so
the tests can drive it with features whose answer is known.
"""
import math
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .davis_metrics import VOID, count_objects

__all__ = ['PropagationConfig', 'VFS_RESNET', 'CRW', 'propagate_labels', 'WINDOWS',
           'LABEL_RESIZES']

WINDOWS = ('vfs', 'crw', 'distinct')
LABEL_RESIZES = ('nearest', 'bilinear')


@dataclass(frozen=True)
class PropagationConfig:
    """Settings of one published variant.

    Attributes:
        context: Previous frames in the window, besides the first frame (20).
        topk: Context cells each query keeps (10).
        temperature: Softmax temperature of the affinities (0.07).
        radius: A context cell is a candidate when its distance to the query, in feature
            cells, is below this (None: no spatial restriction).
        short_side: Frames are resized so their shorter side has this many pixels
            (None: full resolution).
        restrict_first: Apply ``radius`` to the first frame as well.
        label_resize: How the first frame's labels reach the feature grid, one of
            :data:`LABEL_RESIZES`.
        normalise: Min-max normalise each object's upsampled soft labels before argmax.
        window: How the window of previous frames is filled early on, one of
            :data:`WINDOWS`.
    """
    context: int = 20
    topk: int = 10
    temperature: float = 0.07
    radius: Optional[float] = 18.0
    short_side: Optional[int] = 480
    restrict_first: bool = True
    label_resize: str = 'nearest'
    normalise: bool = True
    window: str = 'vfs'

    def __post_init__(self) -> None:
        if self.context < 0 or self.topk < 1 or self.temperature <= 0:
            raise ValueError(f'need context >= 0, topk >= 1 and temperature > 0, got '
                             f'{self.context}, {self.topk}, {self.temperature}')
        if self.radius is not None and self.radius <= 0:
            raise ValueError(f'radius must be > 0 or None (unrestricted), got {self.radius}')
        if self.short_side is not None and self.short_side < 1:
            raise ValueError(f'short_side must be >= 1 or None (native), got {self.short_side}')
        if self.window not in WINDOWS or self.label_resize not in LABEL_RESIZES:
            raise ValueError(f'window must be one of {WINDOWS} and label_resize one of '
                             f'{LABEL_RESIZES}, got {self.window!r}, {self.label_resize!r}')


# VFS's ResNet-50 test setting (configs/r50_nc_sgd_cos_100e_r5_1xNx2_k400.py: precede_frames
# 20, topk 10, temperature 0.07, neighbor_range 36 (a radius of 18), with_first,
# with_first_neighbor; frames resized to short side 480).
VFS_RESNET = PropagationConfig()
# CRW's published setting (README: --topk 10 --videoLen 20 --radius 12 --temperature 0.05
# --cropSize -1, i.e. native resolution; norm_mask off, long memory unrestricted).
CRW = PropagationConfig(radius=12.0, temperature=0.05, short_side=None, restrict_first=False,
                        label_resize='bilinear', normalise=False, window='crw')


def _pil_nearest(labels: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize a uint8 label map to ``size`` (H, W) as PIL's nearest neighbour does."""
    if labels.shape == tuple(size):
        return labels
    image = Image.fromarray(labels.astype(np.uint8))
    return np.asarray(image.resize((size[1], size[0]), Image.NEAREST))


def _grid_labels(labels: np.ndarray, num_objects: int, size: Tuple[int, int],
                 mode: str) -> torch.Tensor:
    """(K + 1, h, w) soft labels of the first frame on the feature grid."""
    labels = np.where(labels == VOID, 0, labels).astype(np.uint8)
    if mode == 'nearest':
        grid = torch.from_numpy(_pil_nearest(labels, size).astype(np.int64))
        return F.one_hot(grid, num_objects + 1).permute(2, 0, 1).float()
    one_hot = (labels[..., None] == np.arange(num_objects + 1)).astype(np.float32)
    resized = cv2.resize(one_hot, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return torch.from_numpy(resized.reshape(*size, num_objects + 1)).permute(2, 0, 1)


def _cell_grid(h: int, w: int) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    return torch.stack([ys.flatten(), xs.flatten()], dim=1).float()  # (h*w, 2)


def _min_max(labels: torch.Tensor) -> torch.Tensor:
    """VFS's per-object min-max normalisation of soft labels (K + 1, H, W); an object whose
    maximum is not positive keeps its values."""
    flat = labels.flatten(1)
    low, high = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    normalised = (flat - low) / (high - low + 1e-12)
    return torch.where(high > 0, normalised, flat).view_as(labels)


def _context(first: tuple, recent: deque, config: PropagationConfig) -> List[tuple]:
    """The (features, labels) pairs a frame is compared with, first frame first."""
    pad = config.context - len(recent) if config.window == 'crw' else 0
    return [first] + [first] * pad + list(recent)


def _blocks(h: int, w: int, radius: Optional[float],
            side: int) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
    """Square blocks of query cells, each with the window of cells within its reach.

    A cell closer than ``radius`` is at most ``ceil(radius) - 1`` rows and columns away,
    so scoring a block against its window instead of the whole frame skips only cells the
    radius excludes anyway (about 5/6 of them at VFS's radius on a 480p frame).

    Yields:
        tuple: Flat indices of the block's cells and of its window's cells.
    """
    reach = max(h, w) if radius is None else max(math.ceil(radius) - 1, 0)
    cells = torch.arange(h * w).view(h, w)
    for y in range(0, h, side):
        for x in range(0, w, side):
            window = cells[max(y - reach, 0):y + side + reach, max(x - reach, 0):x + side + reach]
            yield cells[y:y + side, x:x + side].flatten(), window.flatten()


def _propagate_frame(query: torch.Tensor, context: List[tuple], near: Optional[torch.Tensor],
                     config: PropagationConfig, grid: Tuple[int, int],
                     block: int) -> torch.Tensor:
    """Soft labels (K + 1, h*w) of one frame from its context.

    Args:
        query: L2-normalised features (C, h*w).
        context: (features (C, h*w), soft labels (K + 1, h*w)) pairs, first frame first.
        near: (h*w, h*w) candidates within the radius, or None.
        config: Propagation settings.
        grid: (h, w) of the feature grid.
        block: Side, in cells, of the query blocks scored at once (bounds memory).
    """
    keys = torch.stack([feats for feats, _ in context], dim=1)  # (C, M, h*w)
    values = torch.stack([labels for _, labels in context], dim=1)  # (K+1, M, h*w)
    c, v = keys.shape[0], values.shape[0]
    free = int(near is not None and not config.restrict_first)  # the first frame, unrestricted
    soft = query.new_empty(v, query.shape[1])
    for cells, window in _blocks(*grid, None if near is None else config.radius, block):
        window = window.to(query.device)
        cells = cells.to(query.device)
        q = query[:, cells].t()  # (n, C)
        scores = q @ keys[:, free:, window].reshape(c, -1)  # (n, (M - free) * |window|)
        if near is not None:
            allowed = near[cells][:, window]
            scores.view(len(cells), -1, len(window)).masked_fill_(~allowed[:, None], float('-inf'))
        labels = [values[:, free:, window].reshape(v, -1)]
        if free:
            scores = torch.cat([q @ keys[:, 0], scores], dim=1)
            labels.insert(0, values[:, 0])
        top, index = (scores / config.temperature).topk(min(config.topk, scores.shape[1]), dim=1)
        weights = torch.softmax(top, dim=1)  # (n, k)
        soft[:, cells] = (torch.cat(labels, dim=1)[:, index] * weights[None]).sum(dim=2)
    return soft


def _hard_labels(soft: torch.Tensor, size: Tuple[int, int], normalise: bool) -> np.ndarray:
    """Upsample (K + 1, h, w) soft labels to ``size`` (bilinear), normalise, argmax."""
    upsampled = F.interpolate(soft[None], size=size, mode='bilinear', align_corners=False)[0]
    if normalise:
        upsampled = _min_max(upsampled)
    return upsampled.argmax(dim=0).cpu().numpy().astype(np.uint8)


@torch.no_grad()
def propagate_labels(frames: Sequence[np.ndarray], first_labels: np.ndarray,
                     features: Callable[[np.ndarray], torch.Tensor],
                     config: PropagationConfig = VFS_RESNET,
                     output_size: Optional[Tuple[int, int]] = None,
                     device: Union[str, torch.device, None] = None,
                     block: int = 24) -> List[np.ndarray]:
    """Propagate the first frame's object labels through a clip.

    Args:
        frames: The clip's frames, each as ``features`` takes them (e.g. BGR uint8 (H, W, 3)).
        first_labels: Label map of frame 0 (H, W): 0 background, 1..K objects, 255 void
            (propagated as background).
        features: Frame -> features (C, h, w) on a grid covering the frame; they are
            L2-normalised here.
        config: Propagation settings.
        output_size: (H', W') of the returned maps (VFS predicts at the original frame
            size, whatever size the frames were resized to); default (H, W).
        device: Where the affinities are computed; default where the features are.
        block: Side, in cells, of the query blocks scored at once; memory grows with
            block^2 x context cells within reach.

    Returns:
        list[np.ndarray]: uint8 label maps (H', W') of every frame, frame 0 being
        ``first_labels`` (nearest-resized when ``output_size`` differs).
    """
    output_size = tuple(output_size or first_labels.shape)
    num_objects = count_objects(first_labels)
    feats0 = features(frames[0])
    device = torch.device(device) if device is not None else feats0.device
    feats0 = F.normalize(feats0.to(device).float(), dim=0)
    c, h, w = feats0.shape
    label0 = _grid_labels(first_labels, num_objects, (h, w), config.label_resize).to(device)
    near = None
    if config.radius is not None:
        grid = _cell_grid(h, w).to(device)
        # (h*w, h*w), the same for every frame; the direct formula keeps distances such as
        # exactly 18 exact, which decides membership under the strict "<".
        distance = torch.cdist(grid, grid, compute_mode='donot_use_mm_for_euclid_dist')
        near = distance < config.radius
    first = (feats0.flatten(1), label0.flatten(1))
    recent = deque([first] if config.window in ('vfs', 'crw') else [], maxlen=config.context)
    outputs = [_pil_nearest(first_labels, output_size).astype(np.uint8)]
    for index, frame in enumerate(frames[1:], start=1):
        query = features(frame).to(device).float()
        if query.shape != (c, h, w):
            raise ValueError(f'frame {index} has features {tuple(query.shape)}, frame 0 '
                             f'{(c, h, w)}: all frames of a clip must have one size')
        query = F.normalize(query, dim=0).flatten(1)  # (C, h*w)
        soft = _propagate_frame(query, _context(first, recent, config), near, config, (h, w),
                                block)
        recent.append((query, soft))
        outputs.append(_hard_labels(soft.view(-1, h, w), output_size, config.normalise))
    return outputs
