"""DAVIS 2017 semi-supervised metrics: region similarity J and boundary F-measure F.

Re-stated from the benchmark's definition (davis2017-evaluation, ``davis2017/metrics.py``,
``davis2017/evaluation.py``, ``davis2017/davis.py``) so results are comparable with
published J&F:

- J: intersection over union of the object's predicted and ground-truth masks; 1 when
  both are empty.
- F: with 1-pixel boundary maps of both masks, each dilated by a disk of radius
  ``ceil(0.008 * image diagonal)``, precision = matched predicted boundary / predicted
  boundary, recall = matched ground-truth boundary / ground-truth boundary,
  ``F = 2PR / (P + R)``; empty boundaries give (P, R) = (1, 0), (0, 1) or (1, 1).
- Void pixels (255 in the annotation): both functions can leave them out, but the
  toolkit's semi-supervised evaluation passes no void mask and reads void as
  background, so :func:`evaluate_objects` does the same unless told otherwise.
- Per object over the evaluated frames (the first and last frame of a sequence are left
  out in the semi-supervised setting): mean, recall (share of frames above 0.5) and decay
  (mean of the first quarter minus mean of the last, on 4 bins of frame indices).
- A prediction holding an id above the number of objects is refused, as the toolkit does.
- Dataset ``J-Mean``/``F-Mean``: means over all objects of all sequences; ``J&F-Mean`` is
  their mean.
"""
import math
import warnings
from typing import Dict, List, Optional

import cv2
import numpy as np
from skimage.morphology import disk

__all__ = ['VOID', 'count_objects', 'region_similarity', 'boundary_map', 'boundary_f_measure',
           'frame_statistics', 'evaluate_objects', 'summarise']

# The id DAVIS annotations use for void (unlabelled) pixels.
VOID = 255


def count_objects(first_annotation: np.ndarray) -> int:
    """Objects of a sequence, as the toolkit counts them: the largest id of frame 0's
    annotation, void excluded (0 when the frame shows none)."""
    return int(first_annotation[first_annotation != VOID].max(initial=0))


def region_similarity(gt: np.ndarray, pred: np.ndarray,
                      void: Optional[np.ndarray] = None) -> float:
    """J of one object in one frame: IoU of two binary masks, void pixels excluded."""
    gt, pred = gt.astype(bool), pred.astype(bool)
    keep = np.ones_like(gt) if void is None else ~void.astype(bool)
    union = np.sum((gt | pred) & keep)
    if union == 0:
        return 1.0
    return float(np.sum(gt & pred & keep) / union)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """The 1-pixel boundary of a binary mask, as the DAVIS toolkit draws it.

    A pixel is on the boundary when it differs from its right, lower or lower-right
    neighbour (the last row and column compare only along the image edge).
    """
    seg = mask.astype(bool)
    east, south, south_east = (np.zeros_like(seg) for _ in range(3))
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    boundary = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    boundary[-1, :] = seg[-1, :] ^ east[-1, :]
    boundary[:, -1] = seg[:, -1] ^ south[:, -1]
    boundary[-1, -1] = False
    return boundary


def boundary_f_measure(gt: np.ndarray, pred: np.ndarray, void: Optional[np.ndarray] = None,
                       bound_th: float = 0.008) -> float:
    """F of one object in one frame.

    Args:
        gt: Ground-truth mask (H, W).
        pred: Predicted mask (H, W).
        void: Pixels to ignore, or None.
        bound_th: Tolerance: a fraction of the image diagonal (< 1), or pixels (>= 1).

    Returns:
        float: The boundary F-measure in [0, 1].
    """
    keep = np.ones(gt.shape, bool) if void is None else ~void.astype(bool)
    radius = bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(*gt.shape))
    pred_boundary = boundary_map(pred.astype(bool) & keep)
    gt_boundary = boundary_map(gt.astype(bool) & keep)
    kernel = disk(radius).astype(np.uint8)
    pred_dilated = cv2.dilate(pred_boundary.astype(np.uint8), kernel).astype(bool)
    gt_dilated = cv2.dilate(gt_boundary.astype(np.uint8), kernel).astype(bool)
    n_pred, n_gt = int(pred_boundary.sum()), int(gt_boundary.sum())
    if n_pred == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_pred > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_pred == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = np.sum(pred_boundary & gt_dilated) / n_pred
        recall = np.sum(gt_boundary & pred_dilated) / n_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def frame_statistics(values: np.ndarray) -> Dict[str, float]:
    """Mean, recall (> 0.5) and decay of one object's per-frame values, as the toolkit does."""
    values = np.asarray(values, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        mean = float(np.nanmean(values))
        recall = float(np.nanmean(values > 0.5))
        ids = (np.round(np.linspace(1, len(values), 5) + 1e-10) - 1).astype(int)
        bins = [values[ids[i]:ids[i + 1] + 1] for i in range(4)]
        decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return dict(mean=mean, recall=recall, decay=decay)


def evaluate_objects(gt: np.ndarray, pred: np.ndarray, num_objects: int,
                     semi_supervised: bool = True,
                     exclude_void: bool = False) -> List[Dict[str, Dict[str, float]]]:
    """J and F statistics of every object of one sequence.

    Args:
        gt: Ground-truth label maps (T, H, W): 0 background, ``i`` object i, 255 void.
        pred: Predicted label maps (T, H, W), same frames.
        num_objects: Objects to evaluate (the toolkit takes the largest id of frame 0).
        semi_supervised: Leave out the first frame (given) and the last.
        exclude_void: Leave void pixels out of J and F. The toolkit's semi-supervised
            evaluation does not (it counts them as background), hence False.

    Returns:
        list[dict]: Per object ``{'J': {mean, recall, decay}, 'F': {...}}``.

    Raises:
        ValueError: Shapes differ, or a prediction holds an id above ``num_objects``.
    """
    if gt.shape != pred.shape:
        raise ValueError(f'predictions {pred.shape} and annotations {gt.shape} differ in shape')
    if semi_supervised:
        gt, pred = gt[1:-1], pred[1:-1]
    if pred.size and int(pred.max()) > num_objects:
        raise ValueError(f'a prediction holds object id {int(pred.max())}, but the sequence '
                         f'has {num_objects} objects (ids 1..{num_objects})')
    void = gt == VOID
    if not exclude_void:
        void = np.zeros_like(void)
    results = []
    for obj in range(1, num_objects + 1):
        j = [region_similarity(g == obj, p == obj, v) for g, p, v in zip(gt, pred, void)]
        f = [boundary_f_measure(g == obj, p == obj, v) for g, p, v in zip(gt, pred, void)]
        results.append(dict(J=frame_statistics(np.array(j)), F=frame_statistics(np.array(f))))
    return results


def summarise(per_sequence: Dict[str, List[dict]]) -> Dict[str, float]:
    """Dataset means over all objects: J/F mean, recall and decay, and J&F-Mean."""
    objects = [obj for seq in per_sequence.values() for obj in seq]
    if not objects:
        raise ValueError('no objects to summarise')
    out = {}
    for metric in ('J', 'F'):
        for stat in ('mean', 'recall', 'decay'):
            values = [o[metric][stat] for o in objects]
            out[f'{metric}-{stat.capitalize()}'] = float(np.mean(values))
    out['J&F-Mean'] = (out['J-Mean'] + out['F-Mean']) / 2
    return out
