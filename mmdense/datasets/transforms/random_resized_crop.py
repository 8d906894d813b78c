"""Random resized crop that records where the view lies in the original image."""
import math
from collections.abc import Sequence

import cv2
import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdense.registry import TRANSFORMS
from .loading import DCT_SCALES

# Interpolations the reduced-size path can apply at a sub-pixel offset (cv2.warpAffine);
# 'area' has no warp equivalent, so crops with it always use the full-size decode.
_WARP_INTERPOLATIONS = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
                            bicubic=cv2.INTER_CUBIC, lanczos=cv2.INTER_LANCZOS4)


# Relative cost model of the reduced-size path, fitted to OpenCV's libjpeg-turbo on this
# project's CPU machine (docs/benchmarks.md): decoding costs about 17 ns per compressed
# byte (entropy decoding, the same at every scale) plus 2.7 ns per decoded pixel, and
# sampling a crop with cv2.warpAffine about 5.4 ns per output pixel more than cv2.resize.
_NS_PER_BYTE = 17.
_NS_PER_DECODED_PIXEL = 2.7
_NS_PER_WARPED_PIXEL = 5.4
_MONTE_CARLO_DRAWS = 512


def dct_scale(crop_h: int, crop_w: int, out_h: int, out_w: int) -> int:
    """The largest DCT scale denominator that keeps a crop's resize a downscale.

    The rule: the largest ``s`` in (1, 2, 4, 8) with ``crop_w >= s * out_w`` and
    ``crop_h >= s * out_h``, i.e. the crop decoded at 1/s still has at least as many
    source pixels as output pixels along each side, so the final resize never
    magnifies (a 1/s decode low-passes like a box filter of width s, which the resize
    would have done anyway).

    Args:
        crop_h: Crop height in original pixels.
        crop_w: Crop width in original pixels.
        out_h: Output height.
        out_w: Output width.

    Returns:
        int: 1, 2, 4 or 8.
    """
    for scale in DCT_SCALES[::-1]:
        if crop_w >= scale * out_w and crop_h >= scale * out_h:
            return scale
    return 1


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


def crop_mask_nearest(mask: np.ndarray, top: int, left: int, h: int, w: int, out_h: int,
                      out_w: int) -> np.ndarray:
    """Crop a mask of ids and resize it by nearest neighbour at pixel centres.

    Output pixel ``(i, j)`` takes the crop pixel whose area holds its centre,
    ``(floor((i + 0.5) h / out_h), floor((j + 0.5) w / out_w))``, so ids are never
    mixed and the mask stays aligned with the bilinearly resized image.

    Args:
        mask: Ids ``(H, W)``.
        top: Crop top row.
        left: Crop left column.
        h: Crop height.
        w: Crop width.
        out_h: Output height.
        out_w: Output width.

    Returns:
        np.ndarray: ``(out_h, out_w)`` ids, the dtype of ``mask``.
    """
    rows = np.minimum(((np.arange(out_h) + 0.5) * h / out_h).astype(np.int64), h - 1) + top
    cols = np.minimum(((np.arange(out_w) + 0.5) * w / out_w).astype(np.int64), w - 1) + left
    return mask[rows[:, None], cols[None, :]]


@TRANSFORMS.register_module()
class RandomResizedCropWithBox(BaseTransform):
    """torchvision's RandomResizedCrop on numpy images, keeping the crop box.

    The crop is sampled exactly as ``torchvision.transforms.RandomResizedCrop``
    samples it, drawing from torch's global generator in the same order, so a
    seeded run picks the crops torchvision would: up to ``max_attempts`` draws
    of an area fraction in ``scale`` and a log-uniform aspect ratio in
    ``ratio``, else a centre crop clamped to ``ratio``. The crop is resized
    with cv2 (through :func:`mmcv.imresize`).

    After :class:`~mmdense.datasets.transforms.LoadImageFromFile` with
    ``reduced_decode=True`` the input is a JPEG read up to its header
    (``lazy_img``): the crop is sampled from the header's size with the same random
    draws, then the JPEG is decoded at 1/s of its size, ``s = dct_scale(...)`` (see
    :func:`dct_scale`; a decode another view of the sample already made is reused
    when its s is no larger), and the output pixels are sampled from the reduced
    image at exactly the positions the box gives (``cv2.warpAffine`` with the same
    interpolation), so the view box is the same and the output differs from the
    full-size path by resampling only. With s = 1 the path is the full-size one.

    When more views will read the same JPEG (``MultiView``) and none has decoded it yet,
    the first view decodes at the s' <= s that minimises the expected decode cost of it
    and one more view drawn like it (which reuses the decode when its own s allows,
    else decodes again): a 1/2 decode costs about half a full one and 1/4 or 1/8 little
    less, so a second decode costs more than the finer first one saves. The expectation
    uses a fixed-seed Monte Carlo of this transform's crop sizes for the image size and
    a fitted cost model; it draws nothing from the global generators.

    Required keys: ``img`` or ``lazy_img``. Modified keys: ``img``, ``img_shape``
    (``lazy_img`` removed); ``seg_mask`` when present (a DetCon mask of ids, cropped
    with the same box and resized by :func:`crop_mask_nearest`). Added keys:
    ``view_box``, float32 ``(x1, y1, x2, y2)``
    of the crop in the original image, normalised to [0, 1] (composed with an
    earlier ``view_box`` if there is one; see :func:`compose_view_box`); with
    ``lazy_img`` also ``decode_scale``, the s the view was sampled from.

    Args:
        size: Output size, an int for square outputs or ``(h, w)``.
        scale: Range of the crop area as a fraction of the image area.
        ratio: Range of the crop aspect ratio (width / height).
        interpolation: :func:`mmcv.imresize` interpolation ('nearest',
            'bilinear', 'bicubic', 'area', 'lanczos'). cv2's 'bilinear' does not
            low-pass before shrinking as PIL does; 'area' does.
        max_attempts: Number of random draws before the centre-crop fallback.
    """

    # Can take the loader's lazily decoded JPEG (MultiView decodes it first otherwise).
    accepts_lazy_img = True

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
        # torchvision's float32 log-ratio bounds, computed once (50 us per call otherwise).
        self._log_ratio = tuple(torch.log(torch.tensor(self.ratio)).tolist())
        self._scale_probs: dict[tuple[int, int], dict[int, float]] = {}

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
        log_ratio = self._log_ratio
        for _ in range(self.max_attempts):
            target_area = area * torch.empty(1).uniform_(self.scale[0], self.scale[1]).item()
            aspect = math.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1]).item())
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, size=(1, )).item())
                left = int(torch.randint(0, width - w + 1, size=(1, )).item())
                return top, left, h, w
        return self._fallback_crop(height, width)

    def _fallback_crop(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The largest centred crop whose aspect ratio lies in range."""
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            w, h = int(round(height * max(self.ratio))), height
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def transform(self, results: dict) -> dict | None:
        """Crop, resize and record the view box.

        Args:
            results: Result dict with ``img`` (H, W, C) or ``lazy_img``.

        Returns:
            dict | None: ``results`` with the resized crop, its shape and
            ``view_box``; None when a lazily loaded file turns out bad and the
            loader had ``ignore_empty``.
        """
        img = results.get('img')
        lazy = results.pop('lazy_img', None) if img is None else None
        height, width = (img.shape[:2] if lazy is None else lazy.shape)
        top, left, h, w = self.sample_crop(height, width)
        out_h, out_w = self.size
        scale = 1
        if lazy is not None:
            allowed = (dct_scale(h, w, out_h, out_w)
                       if self.interpolation in _WARP_INTERPOLATIONS else 1)
            lazy.views_to_come -= 1
            if allowed > 1 and lazy.views_to_come > 0 and not lazy.decoded:
                allowed = self._shared_decode_scale(allowed, height, width, len(lazy.data))
            img, scale = lazy.decode(allowed)
            if img is None:
                return None
            results['decode_scale'] = scale
        if scale == 1:
            crop = img[top:top + h, left:left + w]
            results['img'] = mmcv.imresize(crop, (out_w, out_h), interpolation=self.interpolation)
        else:
            results['img'] = self._resize_from_reduced(img, scale, top, left, h, w)
        results['img_shape'] = results['img'].shape[:2]
        if results.get('seg_mask') is not None:
            results['seg_mask'] = crop_mask_nearest(results['seg_mask'], top, left, h, w,
                                                    out_h, out_w)
        box = np.array([left / width, top / height, (left + w) / width, (top + h) / height])
        results['view_box'] = compose_view_box(results.get('view_box'), box)
        return results

    def _scale_probabilities(self, height: int, width: int) -> dict[int, float]:
        """P(a crop of this image allows DCT scale s), by s: Monte Carlo, fixed seed."""
        key = (height, width)
        if key not in self._scale_probs:
            if len(self._scale_probs) > 4096:
                self._scale_probs.clear()
            rng = np.random.default_rng(0)
            n, attempts = _MONTE_CARLO_DRAWS, self.max_attempts
            area = height * width * rng.uniform(*self.scale, (n, attempts))
            aspect = np.exp(rng.uniform(*np.log(self.ratio), (n, attempts)))
            w, h = np.round(np.sqrt(area * aspect)), np.round(np.sqrt(area / aspect))
            ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
            first = ok.argmax(1)
            _, _, fallback_h, fallback_w = self._fallback_crop(height, width)
            w = np.where(ok.any(1), w[np.arange(n), first], fallback_w)
            h = np.where(ok.any(1), h[np.arange(n), first], fallback_h)
            out_h, out_w = self.size
            scales = np.ones(n, np.int64)  # dct_scale, vectorised (its conditions nest)
            for s in DCT_SCALES[1:]:
                scales[(w >= s * out_w) & (h >= s * out_h)] = s
            self._scale_probs[key] = {s: float(np.mean(scales == s)) for s in DCT_SCALES}
        return self._scale_probs[key]

    def _shared_decode_scale(self, allowed: int, height: int, width: int, nbytes: int) -> int:
        """The first decode's scale (<= ``allowed``) minimising the expected cost of this
        view and one more drawn like it."""
        out_pixels = self.size[0] * self.size[1]

        def cost(s: int) -> float:  # decode at 1/s and warp from it
            return (_NS_PER_BYTE * nbytes + _NS_PER_DECODED_PIXEL * height * width / s**2 +
                    (_NS_PER_WARPED_PIXEL * out_pixels if s > 1 else 0.))

        def warp(s: int) -> float:
            return _NS_PER_WARPED_PIXEL * out_pixels if s > 1 else 0.

        probs = self._scale_probabilities(height, width)

        def expected(d: int) -> float:
            return cost(d) + sum(p * (warp(d) if s >= d else cost(s)) for s, p in probs.items())

        return min((s for s in DCT_SCALES if s <= allowed), key=expected)

    def _resize_from_reduced(self, img: np.ndarray, scale: int, top: int, left: int, h: int,
                             w: int) -> np.ndarray:
        """Sample the crop ``(top, left, h, w)`` of the original from its 1/``scale`` decode.

        cv2's resize maps output pixel centre ``j`` to crop coordinate
        ``(j + 0.5) w / out_w - 0.5``; original pixel ``x`` lies at ``(x + 0.5) / s - 0.5``
        in the reduced image, so the output samples the reduced image at
        ``(left + (j + 0.5) w / out_w) / s - 0.5`` (likewise rows): an affine map with no
        rounding of the box to reduced pixels.
        """
        out_h, out_w = self.size
        sx, sy = w / (out_w * scale), h / (out_h * scale)
        matrix = np.array([[sx, 0., (left + 0.5 * w / out_w) / scale - 0.5],
                           [0., sy, (top + 0.5 * h / out_h) / scale - 0.5]])
        flags = _WARP_INTERPOLATIONS[self.interpolation] | cv2.WARP_INVERSE_MAP
        return cv2.warpAffine(img, matrix, (out_w, out_h), flags=flags,
                              borderMode=cv2.BORDER_REPLICATE)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, scale={self.scale}, '
                f'ratio={self.ratio}, interpolation={self.interpolation!r}, '
                f'max_attempts={self.max_attempts})')
