"""Random resized crop that records where the view lies in the original image."""
import math
from collections.abc import Sequence

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdense.registry import TRANSFORMS


def compose_view_box(outer: np.ndarray | None, inner: np.ndarray) -> np.ndarray:
    """Map a box given in a view's normalised coordinates into the original image.

    A view box ``(x1, y1, x2, y2)`` says that normalised view coordinate ``u``
    lies at ``x1 + u * (x2 - x1)`` of the original image (likewise for y). The
    map is linear, so it also holds for flipped views (``x1 > x2``) and boxes
    compose by mapping both corners of ``inner`` through ``outer``.

    Args:
        outer: Box of the current view in the original image, (4,), or None when
            the current image is the original one.
        inner: Box inside the current view, (4,), normalised to it.

    Returns:
        np.ndarray: float32 (4,) box of ``inner`` in the original image.
    """
    inner = np.asarray(inner, np.float64)
    if outer is None:
        return inner.astype(np.float32)
    outer = np.asarray(outer, np.float64)
    origin, extent = outer[:2], outer[2:] - outer[:2]
    return np.concatenate([origin + inner[:2] * extent,
                           origin + inner[2:] * extent]).astype(np.float32)


@TRANSFORMS.register_module()
class RandomResizedCropWithBox(BaseTransform):
    """torchvision's RandomResizedCrop on numpy images, keeping the crop box.

    The crop is sampled exactly as ``torchvision.transforms.RandomResizedCrop``
    samples it, drawing from torch's global generator in the same order, so a
    seeded run picks the crops torchvision would: up to ``max_attempts`` draws
    of an area fraction in ``scale`` and a log-uniform aspect ratio in
    ``ratio``, else a centre crop clamped to ``ratio``. The crop is resized
    with cv2 (through :func:`mmcv.imresize`).

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``.
    Added keys: ``view_box``, float32 ``(x1, y1, x2, y2)`` of the crop in the
    original image, normalised to [0, 1] (composed with an earlier
    ``view_box`` if there is one; see :func:`compose_view_box`).

    Args:
        size: Output size, an int for square outputs or ``(h, w)``.
        scale: Range of the crop area as a fraction of the image area.
        ratio: Range of the crop aspect ratio (width / height).
        interpolation: :func:`mmcv.imresize` interpolation ('nearest',
            'bilinear', 'bicubic', 'area', 'lanczos'). cv2's 'bilinear' does not
            low-pass before shrinking as PIL does; 'area' does.
        max_attempts: Number of random draws before the centre-crop fallback.
    """

    def __init__(self,
                 size: int | Sequence[int],
                 scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3. / 4., 4. / 3.),
                 interpolation: str = 'bilinear',
                 max_attempts: int = 10) -> None:
        super().__init__()
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f'size must be a positive int or (h, w), got {size}')
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f'scale must satisfy 0 < min <= max <= 1, got {scale}')
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f'ratio must satisfy 0 < min <= max, got {ratio}')
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.interpolation = interpolation
        self.max_attempts = max_attempts

    @cache_randomness
    def sample_crop(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Sample a crop of a ``height`` x ``width`` image.

        Args:
            height: Image height.
            width: Image width.

        Returns:
            tuple[int, int, int, int]: ``(top, left, crop_height, crop_width)``.
        """
        area = height * width
        log_ratio = torch.log(torch.tensor(self.ratio))
        for _ in range(self.max_attempts):
            target_area = area * torch.empty(1).uniform_(self.scale[0], self.scale[1]).item()
            aspect = math.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1]).item())
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, size=(1, )).item())
                left = int(torch.randint(0, width - w + 1, size=(1, )).item())
                return top, left, h, w
        # Fallback: the largest centred crop whose aspect ratio lies in range.
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            w, h = int(round(height * max(self.ratio))), height
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def transform(self, results: dict) -> dict:
        """Crop, resize and record the view box.

        Args:
            results: Result dict with ``img`` (H, W, C).

        Returns:
            dict: ``results`` with the resized crop, its shape and ``view_box``.
        """
        img = results['img']
        height, width = img.shape[:2]
        top, left, h, w = self.sample_crop(height, width)
        crop = img[top:top + h, left:left + w]
        out_h, out_w = self.size
        results['img'] = mmcv.imresize(crop, (out_w, out_h), interpolation=self.interpolation)
        results['img_shape'] = results['img'].shape[:2]
        box = np.array([left / width, top / height, (left + w) / width, (top + h) / height])
        results['view_box'] = compose_view_box(results.get('view_box'), box)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, scale={self.scale}, '
                f'ratio={self.ratio}, interpolation={self.interpolation!r}, '
                f'max_attempts={self.max_attempts})')
