"""Batched photometric ops with per-sample parameters: the device twins of the worker transforms.

Every function takes an ``(N, 3, H, W)`` float tensor of RGB images holding integer grey levels
in ``[0, 255]`` (uint8 values, in float so the ops run on any device) and one parameter per
sample (``(N,)`` tensors), and returns the same kind of tensor. Each reproduces the formula and
the uint8 rounding of its CPU twin in :mod:`mmdense.datasets.transforms` (``ColorJitter``,
``RandomGrayscale``, ``GaussianBlur``, ``Solarize``), truncating to integers after every op as
the uint8 kernels do, so a view augmented on the device has the distribution of one augmented
in a worker: given the same parameters, every op is bit-identical to its twin except hue (within
one grey level on about 1 pixel in 10^5; tested op by op).

Why not kornia's per-sample augmentations (0.9.0, compared with these twins): they work on
[0, 1] floats, within one level of the uint8 kernels only when quantised after every op (and then
5-50% of the pixels off by one), draw the jitter order once per batch, blur the whole batch with
one kernel size instead of OpenCV's per-sigma size, and draw from torch's global generator. What
would remain of kornia are kernels of a few lines each; these are bit-identical to the workers'
(docs/benchmarks.md, "Photometric augmentation on the device").
"""
import torch
import torch.nn.functional as F

__all__ = [
    'adjust_brightness', 'adjust_contrast', 'adjust_saturation', 'adjust_hue', 'color_jitter',
    'rgb_to_grayscale', 'gaussian_blur', 'gaussian_kernel_size', 'solarize'
]


def _per_sample(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(N,)`` parameters as an ``(N, 1, 1, 1)`` tensor of ``x``'s dtype and device."""
    return values.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def _to_levels(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 255] and truncate, as a float to uint8 cast does."""
    return x.clamp_(0., 255.).floor_()


def _luma(x: torch.Tensor) -> torch.Tensor:
    """torchvision's float luma (0.2989 R + 0.587 G + 0.114 B), floored, ``(N, 1, H, W)``."""
    r, g, b = x.unbind(1)
    return r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).floor_().unsqueeze(1)


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scale grey levels by ``factor`` (``(N,)``), torchvision's uint8 brightness."""
    return _to_levels(x * _per_sample(factor, x))


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with each image's mean floored luma, torchvision's uint8 contrast.

    ``trunc(clamp(x * f + mean * (1 - f)))`` with both products rounded, as the CPU twin's
    lookup table computes it.
    """
    factor = _per_sample(factor, x)
    mean = _luma(x).mean(dim=(1, 2, 3), keepdim=True)
    return _to_levels(x * factor + mean * (1. - factor))


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with the floored luma image, torchvision's uint8 saturation.

    torchvision computes ``x * f`` and then ``add_(grey, alpha=1 - f)``, whose kernel fuses the
    second product into the sum; ``addcmul`` does the same, so the result is bit-identical.
    """
    factor = _per_sample(factor, x)
    return _to_levels(torch.addcmul(x * factor, _luma(x), 1. - factor))


# Which of (v, p, q, t) is R, G and B in each of the six hue sectors (torchvision's table).
_HSV_SELECT = ((0, 2, 1, 1, 3, 0), (3, 0, 0, 2, 1, 1), (1, 1, 3, 0, 0, 2))


def adjust_hue(x: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    """Rotate hues by ``hue`` turns (``(N,)`` in [-0.5, 0.5]), torchvision's uint8 hue.

    RGB / 255 to hexcone HSV, ``h = (h + hue) mod 1``, back to RGB, ``* (256 - 1e-3)``
    truncated: torchvision's ``adjust_hue`` with a per-sample shift. The CPU twin computes the
    same formula with OpenCV's conversions (``adjust_hue_rgb``).
    """
    img = x * (1. / 255.)
    r, g, _ = img.unbind(1)
    minc, maxc = torch.aminmax(img, dim=1)
    eqc = maxc == minc
    ones = torch.ones_like(maxc)
    chroma = maxc - minc
    s = chroma / torch.where(eqc, ones, maxc)
    rc, gc, bc = ((maxc.unsqueeze(1) - img) / torch.where(eqc, ones, chroma).unsqueeze(1)).unbind(1)
    not_r, is_g = maxc != r, maxc == g
    h = ((bc - gc) * ~not_r + (rc + 2. - bc) * (is_g & not_r) + (gc + 4. - rc) * (not_r & ~is_g))
    h = (h * (1. / 6.) + 1.).fmod_(1.)
    h = (h + hue.to(device=x.device, dtype=x.dtype).view(-1, 1, 1)).remainder_(1.)

    h6 = h * 6.
    sector = torch.floor(h6)
    frac = h6 - sector
    sxf = s * frac
    one_minus_s = 1. - s
    v = maxc
    p = (one_minus_s * v).clamp_(0., 1.)
    q = ((1. - sxf) * v).clamp_(0., 1.)
    t = ((sxf + one_minus_s) * v).clamp_(0., 1.)
    vpqt = torch.stack((v, p, q, t), dim=1)
    select = torch.tensor(_HSV_SELECT, device=x.device)[:, sector.long().remainder_(6)]
    rgb = vpqt.gather(1, select.transpose(0, 1))
    return (rgb * (256. - 1e-3)).floor_()


def color_jitter(x: torch.Tensor, order: torch.Tensor, factors: torch.Tensor,
                 apply: torch.Tensor, enabled: tuple[bool, bool, bool, bool] = (True, ) * 4
                 ) -> torch.Tensor:
    """Brightness, contrast, saturation and hue in a per-sample random order.

    Step ``k`` applies to each jittered sample the op ``order[n, k]`` (0 brightness,
    1 contrast, 2 saturation, 3 hue) with its factor ``factors[n, op]``: as the CPU
    ``ColorJitter``, which draws the permutation per image. Each op runs once per step on the
    samples whose step it is, so the cost is that of four ops over the batch.

    Args:
        x: Images, ``(N, 3, H, W)``.
        order: ``(N, 4)`` permutations of ``0..3``.
        factors: ``(N, 4)`` brightness, contrast, saturation factors and hue shift.
        apply: ``(N,)`` bool, the samples to jitter.
        enabled: Which ops are on (a disabled op is skipped, as the CPU twin skips it).

    Returns:
        Tensor: The jittered images (a copy; untouched samples unchanged).
    """
    ops = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
    out = x.clone()
    for step in range(4):
        for index, op in enumerate(ops):
            if not enabled[index]:
                continue
            # Rows are found where the parameters are (the CPU): no device synchronisation.
            rows = torch.nonzero(apply & (order[:, step] == index)).flatten()
            if rows.numel():
                device_rows = rows.to(x.device, non_blocking=True)
                out[device_rows] = op(out[device_rows], factors[rows, index])
    return out


def rgb_to_grayscale(x: torch.Tensor) -> torch.Tensor:
    """3-channel luma as OpenCV's uint8 ``cvtColor(BGR2GRAY)``: the CPU ``RandomGrayscale``.

    OpenCV's fixed point, ``(9798 R + 19235 G + 3735 B + 2**14) >> 15`` (ITU-R 601 weights in
    15 bits; checked against cv2 on all 2**24 colours); every intermediate is an integer below
    2**24, so float32 computes it exactly.
    """
    r, g, b = x.unbind(1)
    grey = torch.floor((r * 9798. + g * 19235. + b * 3735. + 16384.) * (1. / 32768.))
    return grey.unsqueeze(1).expand_as(x).contiguous()


def gaussian_kernel_size(sigma: torch.Tensor) -> torch.Tensor:
    """OpenCV's kernel size for uint8 images and a given sigma: ``round(6 sigma + 1) | 1``."""
    return torch.round(sigma.double() * 6. + 1.).long() | 1


def _gaussian_kernels(sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """OpenCV's uint8 Gaussian kernels, ``(N, K)``, zero-padded to the batch's largest size.

    OpenCV blurs uint8 images in fixed point: the double kernel ``exp(-d^2 / (2 sigma^2))``,
    normalised, is quantised to multiples of 1/256 by error diffusion from the outer taps
    inwards (round half to even), and the centre tap takes the remainder so the taps sum to
    exactly 1. Those taps are reproduced here; with them every sum of the separable filter is
    a float32-exact multiple of 2**-16, so the blur is OpenCV's to the bit.
    """
    sigma = sigma.detach().to(device='cpu', dtype=torch.float64)
    half = (gaussian_kernel_size(sigma) // 2).view(-1, 1)  # (N, 1)
    radius = int(half.max()) if half.numel() else 0
    scale = -0.125 / (sigma * sigma)  # OpenCV's scale2X, for x = 2 * distance
    quantised = torch.zeros(len(sigma), radius + 1, dtype=torch.float64)  # by distance
    if radius:
        steps = torch.arange(radius, dtype=torch.float64).view(1, -1)
        distance = half - steps  # distance of the tap handled at each step, outer first
        valid = steps < half
        values = torch.exp((2. * distance).square() * scale.view(-1, 1)) * valid
        values = values / (2. * values.sum(dim=1, keepdim=True) + 1.)
        err = torch.zeros(len(sigma), dtype=torch.float64)
        for step in range(radius):
            adjusted = values[:, step] * 256. + err
            level = torch.round(adjusted)
            err = torch.where(valid[:, step], adjusted - level, err)
            rows = torch.nonzero(valid[:, step]).flatten()
            quantised[rows, distance[rows, step].long()] = level[rows]
    quantised[:, 0] = 256. - 2. * quantised[:, 1:].sum(dim=1)
    taps = torch.cat([quantised.flip(1)[:, :-1], quantised], dim=1) * (1. / 256.)
    return taps.to(device=x.device, dtype=x.dtype)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, use_conv: bool | None = None
                  ) -> torch.Tensor:
    """Blur each image with its own sigma, as OpenCV's ``GaussianBlur(img, (0, 0), sigma)``.

    Separable kernels of OpenCV's size and fixed-point taps, replicated borders, rounded half
    up as OpenCV rounds. Every product and partial sum is exact in float32, so any summation
    order gives the same result: on the CPU a grouped convolution (the fastest), elsewhere a
    multiply-add of shifted slices, because cuDNN may convolve in TF32, which is not exact.

    Args:
        x: Images, ``(N, 3, H, W)``.
        sigma: ``(N,)`` standard deviations in pixels.
        use_conv: Force the convolution (True) or the slices (False); None picks by device.

    Returns:
        Tensor: The blurred images.
    """
    if x.shape[0] == 0:
        return x.clone()
    kernels = _gaussian_kernels(sigma, x)
    num, channels, height, width = x.shape
    radius = kernels.shape[1] // 2
    if radius == 0:
        return x.clone()
    out = F.pad(x, (radius, radius, radius, radius), mode='replicate')
    if x.device.type == 'cpu' if use_conv is None else use_conv:
        weight = kernels.repeat_interleave(channels, dim=0)  # one kernel per (sample, channel)
        out = out.reshape(1, num * channels, height + 2 * radius, width + 2 * radius)
        out = F.conv2d(out, weight.view(num * channels, 1, 1, -1), groups=num * channels)
        out = F.conv2d(out, weight.view(num * channels, 1, -1, 1), groups=num * channels)
        return _to_levels(out.view(num, channels, height, width).add_(0.5))
    for dim, length in ((3, width), (2, height)):
        acc = out.narrow(dim, 0, length) * kernels[:, 0].view(-1, 1, 1, 1)
        for k in range(1, kernels.shape[1]):
            acc.addcmul_(out.narrow(dim, k, length), kernels[:, k].view(-1, 1, 1, 1))
        out = acc
    return _to_levels(out.add_(0.5))


def solarize(x: torch.Tensor, threshold: float = 128.) -> torch.Tensor:
    """Invert levels ``>= threshold`` (PIL's ``ImageOps.solarize``, the CPU ``Solarize``)."""
    return torch.where(x >= threshold, 255. - x, x)
