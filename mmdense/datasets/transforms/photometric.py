"""Per-pixel colour transforms of the MoCo v2 / BYOL augmentations: grayscale, blur, solarize.

Probabilities of blur and solarize are set in configs by wrapping them in
mmcv's ``RandomApply``; grayscale has its own ``prob`` like torchvision's.
"""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdense.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomGrayscale(BaseTransform):
    """With probability ``prob``, replace a BGR image by its 3-channel luma.

    Luma is ITU-R 601-2 (0.299 R + 0.587 G + 0.114 B), rounded, as PIL's
    ``convert('L')`` in torchvision's RandomGrayscale computes it. mmcv's
    RandomGrayscale is not used: its defaults weight channels equally and it
    truncates, so even a grey pixel can come out one level darker.

    Required keys: ``img`` (uint8 BGR (H, W, 3)). Modified keys: ``img``.

    Args:
        prob: Probability of converting.
    """

    def __init__(self, prob: float = 0.1) -> None:
        super().__init__()
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    @cache_randomness
    def is_applied(self) -> bool:
        """Draw whether to convert this image."""
        return bool(np.random.rand() < self.prob)

    def transform(self, results: dict) -> dict:
        """Maybe convert ``results['img']`` to grey.

        Args:
            results: Result dict with a BGR ``img``.

        Returns:
            dict: ``results``, its image grey in all three channels if converted.
        """
        if self.is_applied():
            gray = cv2.cvtColor(results['img'], cv2.COLOR_BGR2GRAY)
            results['img'] = np.repeat(gray[..., None], 3, axis=2)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class GaussianBlur(BaseTransform):
    """Gaussian blur with a standard deviation drawn uniformly per image.

    As the MoCo v2 reference's PIL blur (``radius`` = sigma in
    ``[sigma_min, sigma_max]``); cv2 picks the kernel size from sigma (about
    6 sigma + 1) and repeats edge pixels, as PIL does.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        sigma_min: Smallest standard deviation, in pixels.
        sigma_max: Largest standard deviation, in pixels.
    """

    def __init__(self, sigma_min: float = 0.1, sigma_max: float = 2.0) -> None:
        super().__init__()
        if not 0 < sigma_min <= sigma_max:
            raise ValueError(f'need 0 < sigma_min <= sigma_max, got {sigma_min}, {sigma_max}')
        self.sigma_min = sigma_min
        self.sigma_max = sigma_max

    @cache_randomness
    def sample_sigma(self) -> float:
        """Draw the blur standard deviation."""
        return float(np.random.uniform(self.sigma_min, self.sigma_max))

    def transform(self, results: dict) -> dict:
        """Blur ``results['img']``.

        Args:
            results: Result dict with ``img``.

        Returns:
            dict: ``results`` with the blurred image.
        """
        sigma = self.sample_sigma()
        results['img'] = cv2.GaussianBlur(
            results['img'], (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(sigma_min={self.sigma_min}, sigma_max={self.sigma_max})'


@TRANSFORMS.register_module()
class Solarize(BaseTransform):
    """Invert every pixel value at or above ``threshold`` (PIL's ``ImageOps.solarize``).

    Required keys: ``img`` (uint8). Modified keys: ``img``.

    Args:
        threshold: Values ``>= threshold`` become ``255 - value``.
    """

    def __init__(self, threshold: int = 128) -> None:
        super().__init__()
        self.threshold = threshold

    def transform(self, results: dict) -> dict:
        """Solarize ``results['img']``.

        Args:
            results: Result dict with a uint8 ``img``.

        Returns:
            dict: ``results`` with the solarized image.
        """
        img = results['img']
        results['img'] = np.where(img >= self.threshold, 255 - img, img)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(threshold={self.threshold})'
