"""The batched device ops against their CPU twins, op by op, given the same parameters: each
equals the worker transform applied image by image (bit for bit, hue within 1 grey level)."""
import cv2
import numpy as np
import pytest
import torch

from mmdense.datasets.demo.scenes import SCENE_STYLES, render_scene
from mmdense.datasets.transforms import ColorJitter, GaussianBlur, RandomGrayscale, Solarize
from mmdense.models.data_preprocessors import batched_photometric as ops

SIZE = 48


@pytest.fixture(scope='module')
def scenes() -> list[np.ndarray]:
    """Eight BGR demo scenes and one of uniform noise (every colour combination)."""
    rng = np.random.default_rng(0)
    images = [render_scene(rng, SIZE, style)[0] for style in list(SCENE_STYLES) * 2]
    return images + [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)]


def to_batch(images: list[np.ndarray]) -> torch.Tensor:
    """BGR (H, W, 3) uint8 images -> (N, 3, H, W) RGB float levels, the device ops' input."""
    return torch.from_numpy(np.stack(images)[..., ::-1].copy()).permute(0, 3, 1, 2).float()


def cpu_twin(transform, images, params: list, patch: str):
    """Run a worker transform on each image with its drawn parameters replaced by ``params``."""
    out = []
    for image, value in zip(images, params):
        setattr(transform, patch, lambda value=value: value)
        out.append(transform(dict(img=image))['img'])
    return to_batch(out)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def uniform(n: int, low: float, high: float, seed: int = 0) -> torch.Tensor:
    return torch.empty(n).uniform_(low, high, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('op', [0, 1, 2, 3])
def test_each_jitter_op_matches_color_jitter(scenes, op):
    """Brightness, contrast and saturation bit-exact; hue (OpenCV HSV in the twin, torch's in
    the batch, both torchvision's formula) within one level on a few pixels in 10^4."""
    n = len(scenes)
    factors = uniform(n, -0.5, 0.5, seed=op) if op == 3 else uniform(n, 0.3, 1.7, seed=op)
    kwargs = [dict(brightness=(0.3, 1.7)), dict(contrast=(0.3, 1.7)),
              dict(saturation=(0.3, 1.7)), dict(hue=0.5)][op]
    # The other three factors are None: the twin skips those ops, whatever the order.
    params = [([0, 1, 2, 3], [float(f) if i == op else None for i in range(4)]) for f in factors]
    expected = cpu_twin(ColorJitter(**kwargs), scenes, params, 'sample_params')
    fn = (ops.adjust_brightness, ops.adjust_contrast, ops.adjust_saturation, ops.adjust_hue)[op]
    got = fn(to_batch(scenes), factors)
    assert got.dtype == torch.float32 and torch.equal(got, got.round())
    if op == 3:
        assert max_diff(got, expected) <= 1
        assert (got != expected).float().mean() < 1e-3
    else:
        assert torch.equal(got, expected)


def test_jitter_in_per_sample_random_order_matches_color_jitter(scenes):
    """All four ops, each sample in its own order (the CPU twin draws one per image)."""
    n = len(scenes)
    generator = torch.Generator().manual_seed(1)
    order = torch.stack([torch.randperm(4, generator=generator) for _ in range(n)])
    factors = torch.stack([uniform(n, 0.6, 1.4, 2), uniform(n, 0.6, 1.4, 3),
                           uniform(n, 0.6, 1.4, 4), uniform(n, -0.1, 0.1, 5)], dim=1)
    apply = torch.ones(n, dtype=torch.bool)
    apply[1] = False
    params = [(o.tolist(), [float(f) for f in fs]) for o, fs in zip(order, factors)]
    expected = cpu_twin(ColorJitter(0.4, 0.4, 0.4, 0.1), scenes, params, 'sample_params')
    expected[1] = to_batch(scenes[1:2])[0]  # not jittered
    got = ops.color_jitter(to_batch(scenes), order, factors, apply)
    assert len({tuple(o) for o in order.tolist()}) > 3  # the orders differ within the batch
    assert max_diff(got, expected) <= 1
    assert (got != expected).float().mean() < 1e-3


def test_grayscale_matches_random_grayscale_on_every_colour():
    """OpenCV's fixed-point luma, exactly, on a sample of 2**18 of the 2**24 colours."""
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
    expected = cpu_twin(RandomGrayscale(prob=1.0), [bgr], [True], 'is_applied')
    assert torch.equal(ops.rgb_to_grayscale(to_batch([bgr])), expected)


@pytest.mark.parametrize('use_conv', [True, False], ids=['conv_cpu_path', 'slices_gpu_path'])
@pytest.mark.parametrize('sigma_range', [(0.1, 2.0), (0.1 * 64 / 224, 2.0 * 64 / 224), (2., 5.)])
def test_blur_with_per_sample_sigma_matches_gaussian_blur(scenes, sigma_range, use_conv):
    """OpenCV's kernel size (6 sigma + 1, odd), its fixed-point taps and replicated borders:
    bit-exact, with a different kernel size per sample in one batch, on both code paths."""
    sigma = uniform(len(scenes), *sigma_range).double()
    expected = cpu_twin(GaussianBlur(*sigma_range), scenes, sigma.tolist(), 'sample_sigma')
    got = ops.gaussian_blur(to_batch(scenes), sigma, use_conv=use_conv)
    assert len(set(ops.gaussian_kernel_size(sigma).tolist())) > 1
    assert torch.equal(got, expected)


def test_blur_kernel_sizes_follow_opencv():
    sigma = torch.tensor([0.05, 0.1, 0.5, 1.0, 2.0, 3.3])
    assert ops.gaussian_kernel_size(sigma).tolist() == [1, 3, 5, 7, 13, 21]
    for s, size in zip(sigma.tolist(), [1, 3, 5, 7, 13, 21]):
        image = np.zeros((1, 41, 1), np.uint8)
        image[0, 20] = 255
        spread = np.count_nonzero(cv2.GaussianBlur(image, (0, 0), s, borderType=1))
        assert spread <= size


def test_solarize_matches(scenes):
    expected = to_batch([Solarize(threshold=128)(dict(img=image))['img'] for image in scenes])
    assert torch.equal(ops.solarize(to_batch(scenes), 128), expected)


def test_ops_leave_their_input_alone(scenes):
    x = to_batch(scenes)
    before = x.clone()
    n = len(x)
    ops.color_jitter(x, torch.arange(4).repeat(n, 1), torch.full((n, 4), 0.7),
                     torch.ones(n, dtype=torch.bool))
    ops.gaussian_blur(x, torch.full((n, ), 1.5))
    ops.rgb_to_grayscale(x)
    ops.solarize(x)
    assert torch.equal(x, before)
