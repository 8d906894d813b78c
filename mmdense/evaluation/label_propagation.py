"""Semi-supervised video object segmentation by label propagation in frozen feature space.

The protocol of VFS (Xu & Wang, ICCV 2021) and CRW (Jabri et al., NeurIPS 2020) for a
ResNet: each frame's features (res4 at output stride 8, L2-normalised along channels) are
compared with those of a context of frames, the first frame (whose labels are given) and
the ``context`` previous ones (whose labels were predicted); every query cell keeps its
``topk`` most similar context cells within ``radius`` cells, weighs them by a softmax of
similarity / ``temperature`` and takes the weighted mean of their soft labels. The soft
labels are min-max normalised per object, upsampled to the frame and arg-maxed.

No package ships this for mmdet/mmseg backbones (VFS builds on mmaction 0.x, CRW on its
own code), hence this module; it takes any ``features(frame) -> (C, h, w)`` callable, so
the tests can drive it with features whose answer is known.
"""
from dataclasses import dataclass
from typing import Callable, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ['PropagationConfig', 'VFS_RESNET', 'CRW', 'propagate_labels']


@dataclass(frozen=True)
class PropagationConfig:
    """Settings of one published variant.

    Attributes:
        context: Previous frames kept as context, besides the first (20).
        topk: Context cells each query keeps (10).
        temperature: Softmax temperature of the affinities (0.07).
        radius: Largest distance, in feature cells, between a query and a context cell
            (None: no spatial restriction).
        short_side: Frames are resized so their shorter side has this many pixels
            (None: full resolution).
    """
    context: int = 20
    topk: int = 10
    temperature: float = 0.07
    radius: float | None = 18.0
    short_side: int | None = 480


# VFS's ResNet-50 test setting (configs/r50_nc_sgd_cos_100e_r5_1xNx2_k400.py).
VFS_RESNET = PropagationConfig()
# CRW's published setting: radius 12, temperature 0.05, full resolution.
CRW = PropagationConfig(radius=12.0, temperature=0.05, short_side=None)


def _one_hot(labels: np.ndarray, num_objects: int) -> torch.Tensor:
    """(K + 1, H, W) float one-hot of a label map (0 background, 1..K objects)."""
    label = torch.from_numpy(labels.astype(np.int64)).clamp(max=num_objects)
    return F.one_hot(label, num_objects + 1).permute(2, 0, 1).float()


def _cell_grid(h: int, w: int) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    return torch.stack([ys.flatten(), xs.flatten()], dim=1).float()  # (h*w, 2)


def _min_max(labels: torch.Tensor) -> torch.Tensor:
    """Per-object min-max normalisation of soft labels (K + 1, ...), as CRW's norm_mask."""
    flat = labels.flatten(1)
    low, high = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    scale = torch.where(high > low, high - low, torch.ones_like(high))
    return ((flat - low) / scale).view_as(labels)


@torch.no_grad()
def propagate_labels(frames: Sequence[np.ndarray], first_labels: np.ndarray,
                     features: Callable[[np.ndarray], torch.Tensor],
                     config: PropagationConfig = VFS_RESNET,
                     chunk: int = 4096) -> List[np.ndarray]:
    """Propagate the first frame's object labels through a clip.

    Args:
        frames: The clip's frames, each as ``features`` takes them (e.g. BGR uint8 (H, W, 3)).
        first_labels: Label map of frame 0 (H, W): 0 background, 1..K objects.
        features: Frame -> features (C, h, w) on a grid covering the frame; they are
            L2-normalised here.
        config: Propagation settings.
        chunk: Query cells per affinity block (bounds memory: chunk x context cells).

    Returns:
        list[np.ndarray]: uint8 label maps (H, W) of every frame, frame 0 as given.
    """
    height, width = first_labels.shape
    num_objects = int(first_labels.max())
    feats0 = F.normalize(features(frames[0]).float(), dim=0)
    c, h, w = feats0.shape
    # Labels live on the feature grid; the first frame's one-hot is area-averaged onto it.
    label0 = F.adaptive_avg_pool2d(_one_hot(first_labels, num_objects)[None], (h, w))[0]
    grid = _cell_grid(h, w)
    near = None
    if config.radius is not None:
        near = torch.cdist(grid, grid) <= config.radius  # (h*w, h*w), same for every frame
    context_feats, context_labels = [feats0.flatten(1)], [label0.flatten(1)]
    outputs = [first_labels.astype(np.uint8)]
    for frame in frames[1:]:
        query = F.normalize(features(frame).float(), dim=0).flatten(1)  # (C, h*w)
        keys = torch.stack(context_feats)  # (M, C, h*w)
        values = torch.stack(context_labels)  # (M, K+1, h*w)
        m = keys.shape[0]
        keys_flat = keys.permute(1, 0, 2).reshape(c, m * h * w)
        values_flat = values.permute(1, 0, 2).reshape(values.shape[1], m * h * w)
        soft = torch.empty(values.shape[1], h * w)
        for start in range(0, h * w, chunk):
            rows = slice(start, min(start + chunk, h * w))
            affinity = query[:, rows].t() @ keys_flat  # (chunk, M*h*w)
            if near is not None:
                affinity = affinity.view(-1, m, h * w).masked_fill(
                    ~near[rows][:, None, :], float('-inf')).view(-1, m * h * w)
            k = min(config.topk, affinity.shape[1])
            top, index = affinity.topk(k, dim=1)
            weights = torch.softmax(top / config.temperature, dim=1)  # (chunk, k)
            soft[:, rows] = (values_flat[:, index] * weights[None]).sum(dim=2)
        soft = soft.view(-1, h, w)
        context_feats.append(query)
        context_labels.append(soft.flatten(1))
        if len(context_feats) > config.context + 1:  # keep frame 0 and the last `context`
            del context_feats[1], context_labels[1]
        upsampled = F.interpolate(_min_max(soft)[None], size=(height, width), mode='bilinear',
                                  align_corners=False)[0]
        outputs.append(upsampled.argmax(dim=0).numpy().astype(np.uint8))
    return outputs
