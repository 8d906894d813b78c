"""Two random resized crops of one image whose second overlaps the first (SlotCon's crops).

``MultiView`` runs its view pipelines independently, so a condition that ties two
views together is sampled before it: :class:`SampleOverlappingCrops` draws both
crop windows and records them, and :class:`PlannedResizedCropWithBox`, the first
transform of each view pipeline, cuts its view's window.
"""
from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdense.registry import TRANSFORMS
from .random_resized_crop import RandomResizedCropWithBox

#: Results key holding the planned windows, ``(V, 4)`` int64 ``(top, left, height, width)``.
PLAN_KEY = 'crop_plan'


def _intersection(a: Sequence[int], b: Sequence[int]) -> int:
    """Area of the intersection of two ``(top, left, height, width)`` windows."""
    dx = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    dy = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    return max(0, dx) * max(0, dy)


@TRANSFORMS.register_module()
class SampleOverlappingCrops(BaseTransform):
    """Sample two crop windows, the second covering part of the first.

    The first window is drawn as ``torchvision.transforms.RandomResizedCrop``
    (``scale``, ``ratio``, 10 attempts, centre-crop fallback; the draws come
    from torch's global generator, as :class:`RandomResizedCropWithBox`'s). The
    second is drawn the same way but an attempt is accepted only if its
    intersection with the first is at least ``min_overlap`` of its target area;
    after ``max_attempts`` rejected attempts an unconditioned window is drawn.
    That is the authors' ``CustomTwoCrop(condition_overlap=True)``
    (CVMI-Lab/SlotCon ``data/transforms.py``).

    Place it after the loader and before ``MultiView``; start each view pipeline
    with :class:`PlannedResizedCropWithBox` (``view_index`` 0 and 1). The image
    is not decoded here (a lazily loaded JPEG is sized from its header).

    Required keys: ``img`` or ``lazy_img``. Added keys: ``crop_plan``.

    Args:
        scale: Range of the crop area as a fraction of the image area.
        ratio: Range of the crop aspect ratio (width / height).
        min_overlap: Least intersection, as a fraction of the second window's target
            area (0.01).
        max_attempts: Draws per window before the fallback.
    """

    def __init__(self,
                 scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3. / 4., 4. / 3.),
                 min_overlap: float = 0.01,
                 max_attempts: int = 10) -> None:
        super().__init__()
        if not 0 <= min_overlap <= 1:
            raise ValueError(f'min_overlap must lie in [0, 1], got {min_overlap}')
        # Only its sampler is used: the crop draws are RandomResizedCropWithBox's.
        self.sampler = RandomResizedCropWithBox(1, scale=scale, ratio=ratio,
                                                max_attempts=max_attempts)
        self.min_overlap = min_overlap
        self.max_attempts = max_attempts

    def sample_second(self, height: int, width: int, first: Sequence[int]) -> tuple:
        """A window overlapping ``first`` by ``min_overlap`` of its target area, if one is drawn
        within ``max_attempts``; else an unconditioned one."""
        area = height * width
        scale, (lo, hi) = self.sampler.scale, self.sampler._log_ratio
        for _ in range(self.max_attempts):
            target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
            aspect = float(np.exp(torch.empty(1).uniform_(lo, hi).item()))
            w = int(round(np.sqrt(target_area * aspect)))
            h = int(round(np.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, size=(1, )).item())
                left = int(torch.randint(0, width - w + 1, size=(1, )).item())
                window = (top, left, h, w)
                if _intersection(window, first) >= self.min_overlap * target_area:
                    return window
        return self.sampler.sample_crop(height, width)

    def transform(self, results: dict) -> dict:
        """Record the two windows.

        Args:
            results: Result dict with ``img`` (H, W, C) or ``lazy_img``.

        Returns:
            dict: ``results`` with ``crop_plan`` (2, 4).
        """
        img = results.get('img')
        height, width = img.shape[:2] if img is not None else results['lazy_img'].shape
        first = self.sampler.sample_crop(height, width)
        second = self.sample_second(height, width, first)
        results[PLAN_KEY] = np.array([first, second], np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.sampler.scale}, '
                f'ratio={self.sampler.ratio}, min_overlap={self.min_overlap}, '
                f'max_attempts={self.max_attempts})')


@TRANSFORMS.register_module()
class PlannedResizedCropWithBox(RandomResizedCropWithBox):
    """:class:`RandomResizedCropWithBox` that cuts the window planned for its view.

    The window is row ``view_index`` of ``crop_plan`` (written by
    :class:`SampleOverlappingCrops`); resizing, reduced-size decoding and the
    recorded ``view_box`` are :class:`RandomResizedCropWithBox`'s. It draws
    nothing from the random generators.

    Required keys: ``img`` or ``lazy_img``, ``crop_plan``. Modified and added keys:
    as :class:`RandomResizedCropWithBox`.

    Args:
        size: Output size, an int or ``(h, w)``.
        view_index: Which planned window (0 or 1).
        interpolation: :func:`mmcv.imresize` interpolation ('bicubic' for SlotCon).
    """

    def __init__(self, size: int | Sequence[int], view_index: int,
                 interpolation: str = 'bilinear') -> None:
        super().__init__(size, interpolation=interpolation)
        if view_index < 0:
            raise ValueError(f'view_index must be >= 0, got {view_index}')
        self.view_index = view_index
        self._window: tuple | None = None

    def sample_crop(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The planned window ``(top, left, h, w)``."""
        top, left, h, w = self._window
        if top < 0 or left < 0 or top + h > height or left + w > width:
            raise ValueError(f'planned window {self._window} lies outside the {height}x{width} '
                             'image; crop_plan must come from this image')
        return top, left, h, w

    def transform(self, results: dict) -> dict | None:
        """Cut the planned window, as :meth:`RandomResizedCropWithBox.transform` does."""
        plan = results.get(PLAN_KEY)
        if plan is None or len(plan) <= self.view_index:
            raise KeyError(f'{type(self).__name__}(view_index={self.view_index}) needs '
                           f"'{PLAN_KEY}' with a row for its view: put SampleOverlappingCrops "
                           'before MultiView.')
        self._window = tuple(int(v) for v in plan[self.view_index])
        try:
            return super().transform(results)
        finally:
            self._window = None

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, view_index={self.view_index}, '
                f'interpolation={self.interpolation!r})')
