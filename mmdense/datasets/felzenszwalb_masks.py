"""Offline unsupervised masks for DetCon: one Felzenszwalb segmentation per image.

Layout: the mask of ``<img_root>/<rel>.<ext>`` is ``<mask_root>/<rel>.png`` (by default
``mask_root = <img_root>/masks``), a single-channel PNG of segment ids: ``uint8`` when
the image has at most 256 segments (ids 0..255), ``uint16`` otherwise (ids up to 65535;
more raise). Readers take both (:func:`read_mask`). Writing is resumable (finished
masks are skipped) and atomic (a temporary file in the same folder, then a rename), so
a killed run leaves no truncated PNG; workers are separate processes.
"""
import os
import os.path as osp
import tempfile
from multiprocessing import get_context
from typing import Iterable, List, Optional, Sequence

import cv2
import numpy as np

from .transforms.loading import decode_image

__all__ = [
    'FH_SCALE', 'FH_MIN_SIZE', 'FH_SIGMA', 'MissingMaskError', 'mask_path_for',
    'felzenszwalb_mask', 'write_mask', 'read_mask', 'list_images', 'generate_masks'
]

# The authors' generate_fh_masks_for_imagenet.py: scale 1000, min_size 1000, skimage's
# default sigma 0.8, on the decoded full-size image.
FH_SCALE = 1000.
FH_MIN_SIZE = 1000
FH_SIGMA = 0.8
_IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


class MissingMaskError(FileNotFoundError):
    """A mask that is missing or does not fit its image, naming both files."""


def mask_path_for(img_path: str, img_root: str, mask_root: Optional[str] = None) -> str:
    """The mask file of an image: same relative path under ``mask_root``, ``.png``.

    Args:
        img_path: Image file.
        img_root: Root the relative path is taken from.
        mask_root: Mask root; ``<img_root>/masks`` when None.

    Returns:
        str: The mask path.
    """
    mask_root = osp.join(img_root, 'masks') if mask_root is None else mask_root
    rel = osp.relpath(img_path, img_root)
    if rel.startswith('..'):
        raise ValueError(f'{img_path} does not lie under the image root {img_root}')
    return osp.join(mask_root, osp.splitext(rel)[0] + '.png')


def felzenszwalb_mask(img: np.ndarray, scale: float = FH_SCALE, min_size: int = FH_MIN_SIZE,
                      sigma: float = FH_SIGMA, bgr: bool = True) -> np.ndarray:
    """Felzenszwalb-Huttenlocher segmentation of one image (skimage), ids from 0.

    Args:
        img: ``(H, W, 3)`` uint8 image (``(H, W)`` grayscale also works).
        scale: Observation-level scale (1000).
        min_size: Minimum segment size in pixels (1000).
        sigma: Gaussian pre-smoothing (0.8).
        bgr: ``img`` is in OpenCV's BGR order (converted to RGB, as the authors segment).

    Returns:
        np.ndarray: int64 ``(H, W)`` segment ids.
    """
    from skimage.segmentation import felzenszwalb

    if bgr and img.ndim == 3:
        img = img[..., ::-1]
    return felzenszwalb(np.ascontiguousarray(img), scale=scale, sigma=sigma,
                        min_size=min_size).astype(np.int64)


def write_mask(path: str, ids: np.ndarray) -> None:
    """Write ids atomically as a uint8 PNG (max id <= 255) or uint16 PNG (<= 65535).

    Args:
        path: Destination ``.png``.
        ids: Non-negative integer ``(H, W)`` ids.
    """
    if ids.min() < 0 or ids.max() > 65535:
        raise ValueError(f'mask ids for {path} must lie in [0, 65535], got '
                         f'[{ids.min()}, {ids.max()}]')
    dtype = np.uint8 if ids.max() <= 255 else np.uint16
    ok, data = cv2.imencode('.png', ids.astype(dtype))
    if not ok:
        raise OSError(f'could not encode the mask for {path}')
    folder = osp.dirname(path) or '.'
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp-', suffix='.png', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.tobytes())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def read_mask(path: str, img_path: Optional[str] = None) -> np.ndarray:
    """Read a mask PNG written by :func:`write_mask`.

    Args:
        path: Mask file.
        img_path: Its image, named in the error when the mask is missing.

    Returns:
        np.ndarray: int32 ``(H, W)`` ids.

    Raises:
        MissingMaskError: The file is missing or not a single-channel PNG.
    """
    of = f' (mask of {img_path})' if img_path else ''
    if not osp.isfile(path):
        raise MissingMaskError(f'mask file {path} not found{of}; generate the masks with '
                               'tools/misc/generate_masks.py (docs/detcon.md).')
    ids = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if ids is None or ids.ndim != 2:
        raise MissingMaskError(f'mask file {path}{of} is not a single-channel PNG; delete it '
                               'and rerun tools/misc/generate_masks.py.')
    return ids.astype(np.int32)


def list_images(img_root: str, mask_root: Optional[str] = None) -> List[str]:
    """Every image file under ``img_root`` (sorted), leaving out the mask folder."""
    mask_root = osp.abspath(osp.join(img_root, 'masks') if mask_root is None else mask_root)
    found = []
    for folder, dirs, files in os.walk(img_root):
        dirs[:] = sorted(d for d in dirs if osp.abspath(osp.join(folder, d)) != mask_root)
        found += [osp.join(folder, f) for f in files
                  if f.lower().endswith(_IMG_EXTENSIONS) and not f.startswith('.')]
    return sorted(found)


def _one(job: tuple) -> int:
    img_path, mask_path, scale, min_size, sigma = job
    if osp.exists(mask_path):
        return 0
    with open(img_path, 'rb') as f:
        img = decode_image(f.read(), img_path)
    write_mask(mask_path, felzenszwalb_mask(img, scale, min_size, sigma))
    return 1


def generate_masks(img_root: str,
                   mask_root: Optional[str] = None,
                   images: Optional[Iterable[str]] = None,
                   workers: int = 1,
                   scale: float = FH_SCALE,
                   min_size: int = FH_MIN_SIZE,
                   sigma: float = FH_SIGMA) -> int:
    """Write the missing masks of the images under ``img_root``.

    Images are decoded as the training loader decodes them (OpenCV, EXIF rotation
    applied), so mask and image have the same size.

    Args:
        img_root: Image root (an ImageNet-style class-folder tree or a COCO image folder).
        mask_root: Mask root; ``<img_root>/masks`` when None.
        images: Image paths under ``img_root``; every image there when None.
        workers: Worker processes (1: in this process).
        scale: Felzenszwalb scale.
        min_size: Felzenszwalb minimum segment size.
        sigma: Felzenszwalb smoothing.

    Returns:
        int: Masks written (0 when all existed).
    """
    images = list_images(img_root, mask_root) if images is None else list(images)
    jobs = [(p, mask_path_for(p, img_root, mask_root), scale, min_size, sigma) for p in images]
    jobs = [j for j in jobs if not osp.exists(j[1])]
    if workers <= 1 or len(jobs) <= 1:
        return sum(_one(j) for j in jobs)
    with get_context('spawn').Pool(min(workers, len(jobs))) as pool:
        return sum(pool.imap_unordered(_one, jobs, chunksize=4))


def check_mask_shape(ids: np.ndarray, shape: Sequence[int], mask_path: str,
                     img_path: str) -> None:
    """Raise :class:`MissingMaskError` when a mask's size differs from its image's."""
    if tuple(ids.shape[:2]) != tuple(shape[:2]):
        raise MissingMaskError(
            f'mask {mask_path} is {ids.shape[0]}x{ids.shape[1]} but its image {img_path} is '
            f'{shape[0]}x{shape[1]}: the mask was made from another image; delete it and rerun '
            'tools/misc/generate_masks.py.')
