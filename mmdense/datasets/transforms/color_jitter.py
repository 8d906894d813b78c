"""torchvision's ColorJitter for BGR numpy images."""
from collections.abc import Sequence

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdense.registry import TRANSFORMS

Range = float | Sequence[float]


def _factor_range(value: Range, name: str, center: float = 1.0,
                  bound: tuple[float, float] = (0., float('inf')),
                  clip_at_zero: bool = True) -> tuple[float, float] | None:
    """Turn a jitter strength into a factor range, as torchvision reads it.

    Args:
        value: Strength ``v`` (range ``[center - v, center + v]``) or ``(min, max)``.
        name: Argument name, for errors.
        center: Factor that leaves the image unchanged.
        bound: Allowed factor interval.
        clip_at_zero: Raise a negative lower end of a strength range to 0.

    Returns:
        tuple[float, float] | None: The range, or None when it is ``(center, center)``
        and the op is to be skipped.
    """
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f'{name} strength must be non-negative, got {value}')
        low, high = center - value, center + value
        if clip_at_zero:
            low = max(low, 0.)
    elif isinstance(value, Sequence) and len(value) == 2:
        low, high = float(value[0]), float(value[1])
    else:
        raise TypeError(f'{name} must be a number or a (min, max) pair, got {value}')
    if not bound[0] <= low <= high <= bound[1]:
        raise ValueError(f'{name} range must be increasing within {bound}, got {(low, high)}')
    return None if low == high == center else (float(low), float(high))


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Randomly change brightness, contrast, saturation and hue, in random order.

    Reproduces ``torchvision.transforms.v2.ColorJitter`` (the MoCo v2
    augmentation): it draws the op order and the factors from torch's global
    generator in torchvision's order and applies torchvision's kernels to the
    image as an RGB uint8 tensor, so with the same torch seed its output is
    torchvision's, converted back to BGR.

    Required keys: ``img`` (uint8 BGR (H, W, 3)). Modified keys: ``img``.

    Args:
        brightness: Strength ``b`` (factor in ``[max(0, 1-b), 1+b]``) or range.
        contrast: Strength or range, as for brightness.
        saturation: Strength or range, as for brightness.
        hue: Strength ``h`` (shift in ``[-h, h]``, ``h <= 0.5``) or range.
    """

    def __init__(self,
                 brightness: Range = 0.,
                 contrast: Range = 0.,
                 saturation: Range = 0.,
                 hue: Range = 0.) -> None:
        super().__init__()
        self.brightness = _factor_range(brightness, 'brightness')
        self.contrast = _factor_range(contrast, 'contrast')
        self.saturation = _factor_range(saturation, 'saturation')
        self.hue = _factor_range(hue, 'hue', center=0., bound=(-0.5, 0.5), clip_at_zero=False)

    @cache_randomness
    def sample_params(self) -> tuple[list[int], list[float | None]]:
        """Draw the op order and the four factors (None for disabled ops).

        Returns:
            tuple[list[int], list[float | None]]: A permutation of ``0..3``
            (brightness, contrast, saturation, hue) and the factor of each op.
        """
        order = torch.randperm(4).tolist()
        factors = [
            None if bounds is None else float(torch.empty(1).uniform_(*bounds).item())
            for bounds in (self.brightness, self.contrast, self.saturation, self.hue)
        ]
        return order, factors

    def transform(self, results: dict) -> dict:
        """Jitter ``results['img']``.

        Args:
            results: Result dict with a uint8 BGR ``img``.

        Returns:
            dict: ``results`` with the jittered image.
        """
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError('ColorJitter expects a uint8 (H, W, 3) BGR image, got '
                             f'{img.dtype} {img.shape}')
        order, factors = self.sample_params()
        rgb = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1)
        kernels = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation,
                   TF.adjust_hue)
        for index in order:
            if factors[index] is not None:
                rgb = kernels[index](rgb, factors[index])
        results['img'] = np.ascontiguousarray(rgb.permute(1, 2, 0).numpy()[..., ::-1])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, hue={self.hue})')
