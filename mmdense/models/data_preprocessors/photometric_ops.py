"""Per-sample parameter samplers of the batched photometric ops, one class per worker transform.

Each op draws all of its parameters for a batch from a given ``torch.Generator`` (always the
same number of draws, whether or not a sample is augmented, so the stream does not depend on
earlier outcomes) and applies them with the batched kernels of :mod:`.batched_photometric`.
``prob`` plays the part of mmcv's ``RandomApply`` (or of ``RandomGrayscale.prob``) in the
worker configs. Parameters stay on the CPU; only the rows to change are selected there, so a
GPU batch is indexed without device-to-host synchronisation.
"""
import torch

from mmdense.datasets.transforms.color_jitter import Range, _factor_range
from mmdense.registry import MODELS
from . import batched_photometric as ops

__all__ = ['BatchedColorJitter', 'BatchedRandomGrayscale', 'BatchedGaussianBlur',
           'BatchedSolarize']


class _BatchedOp:
    """An op applied to each sample with probability ``prob``.

    Args:
        prob: Probability that a sample is changed.
    """

    def __init__(self, prob: float = 1.0) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = float(prob)

    def _draw_apply(self, num: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand(num, generator=generator) < self.prob

    def sample(self, num: int, generator: torch.Generator) -> dict:
        """Draw the parameters of ``num`` samples; ``apply`` (bool ``(num,)``) is always set."""
        return dict(apply=self._draw_apply(num, generator))

    def apply(self, x: torch.Tensor, params: dict) -> torch.Tensor:
        """Change the rows of ``x`` (``(N, 3, H, W)`` RGB levels) whose ``apply`` is set."""
        rows = torch.nonzero(params['apply']).flatten()
        if rows.numel() == 0:
            return x
        out = x.clone()
        device_rows = rows.to(x.device, non_blocking=True)
        out[device_rows] = self._apply_rows(x[device_rows], params, rows)
        return out

    def _apply_rows(self, x: torch.Tensor, params: dict, rows: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v}' for k, v in vars(self).items())
        return f'{self.__class__.__name__}({args})'


@MODELS.register_module()
class BatchedColorJitter(_BatchedOp):
    """``ColorJitter`` with a per-sample op order and factors (torchvision's ranges).

    Args:
        brightness: Strength ``b`` (factor in ``[max(0, 1-b), 1+b]``) or range.
        contrast: Strength or range, as for brightness.
        saturation: Strength or range, as for brightness.
        hue: Strength ``h`` (shift in ``[-h, h]``, ``h <= 0.5``) or range.
        prob: Probability of jittering a sample (``RandomApply`` around ``ColorJitter``).
    """

    def __init__(self, brightness: Range = 0., contrast: Range = 0., saturation: Range = 0.,
                 hue: Range = 0., prob: float = 1.0) -> None:
        super().__init__(prob)
        self.brightness = _factor_range(brightness, 'brightness')
        self.contrast = _factor_range(contrast, 'contrast')
        self.saturation = _factor_range(saturation, 'saturation')
        self.hue = _factor_range(hue, 'hue', center=0., bound=(-0.5, 0.5), clip_at_zero=False)

    def sample(self, num: int, generator: torch.Generator) -> dict:
        """``apply``; ``order``, ``(num, 4)`` permutations; ``factors``, ``(num, 4)`` (a
        disabled op gets its neutral value and is skipped)."""
        params = super().sample(num, generator)
        params['order'] = torch.rand(num, 4, generator=generator).argsort(dim=1)
        factors = []
        for bounds, neutral in zip(self._ranges, (1., 1., 1., 0.)):
            drawn = torch.empty(num).uniform_(*(bounds or (0., 1.)), generator=generator)
            factors.append(drawn if bounds else torch.full((num, ), neutral))
        params['factors'] = torch.stack(factors, dim=1)
        return params

    @property
    def _ranges(self) -> tuple:
        return self.brightness, self.contrast, self.saturation, self.hue

    def apply(self, x: torch.Tensor, params: dict) -> torch.Tensor:
        """Jitter each sample whose ``apply`` is set, its ops in its own ``order``."""
        return ops.color_jitter(x, params['order'], params['factors'], params['apply'],
                                enabled=tuple(r is not None for r in self._ranges))


@MODELS.register_module()
class BatchedRandomGrayscale(_BatchedOp):
    """``RandomGrayscale``: OpenCV's rounded ITU-R 601 luma in all three channels."""

    def __init__(self, prob: float = 0.1) -> None:
        super().__init__(prob)

    def _apply_rows(self, x, params, rows):
        return ops.rgb_to_grayscale(x)


@MODELS.register_module()
class BatchedGaussianBlur(_BatchedOp):
    """``GaussianBlur`` with sigma uniform in ``[sigma_min, sigma_max]`` per sample.

    Args:
        sigma_min: Smallest standard deviation, in pixels.
        sigma_max: Largest standard deviation, in pixels.
        prob: Probability of blurring a sample.
    """

    def __init__(self, sigma_min: float = 0.1, sigma_max: float = 2.0, prob: float = 1.0) -> None:
        super().__init__(prob)
        if not 0 < sigma_min <= sigma_max:
            raise ValueError(f'need 0 < sigma_min <= sigma_max, got {sigma_min}, {sigma_max}')
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)

    def sample(self, num: int, generator: torch.Generator) -> dict:
        """``apply``; ``sigma``, ``(num,)`` float64 (as the CPU twin draws it)."""
        params = super().sample(num, generator)
        params['sigma'] = torch.empty(num, dtype=torch.float64).uniform_(
            self.sigma_min, self.sigma_max, generator=generator)
        return params

    def _apply_rows(self, x, params, rows):
        return ops.gaussian_blur(x, params['sigma'][rows])


@MODELS.register_module()
class BatchedSolarize(_BatchedOp):
    """``Solarize``: levels ``>= threshold`` become ``255 - level``.

    Args:
        threshold: The solarisation threshold.
        prob: Probability of solarising a sample.
    """

    def __init__(self, threshold: float = 128, prob: float = 1.0) -> None:
        super().__init__(prob)
        self.threshold = float(threshold)

    def _apply_rows(self, x, params, rows):
        return ops.solarize(x, self.threshold)
