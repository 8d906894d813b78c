"""View transforms: crop/flip boxes, colour ops against torchvision, multi-view and packing."""
import cv2
import numpy as np
import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.v2 as T2
import torchvision.transforms.v2.functional as TF2
from PIL import Image

from mmdense.datasets.transforms import (ColorJitter, GaussianBlur, MultiView, PackSelfSupInputs,
                                         RandomFlipWithBox, RandomGrayscale,
                                         RandomResizedCropWithBox, Solarize, compose_view_box)
from mmdense.registry import TRANSFORMS

H, W = 120, 160


def coordinate_image() -> np.ndarray:
    """uint8 (H, W, 3) image whose pixel (y, x) holds (x, y, 0): content says where it was."""
    yy, xx = np.mgrid[0:H, 0:W]
    return np.stack([xx, yy, np.zeros_like(xx)], axis=2).astype(np.uint8)


def random_image(seed: int = 0, shape=(32, 40)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def expected_source_coordinate(box_start, box_end, size_in, size_out):
    """Pixel-centre source coordinate of each output pixel under the box's linear map."""
    t = (np.arange(size_out) + 0.5) / size_out
    return size_in * (box_start + t * (box_end - box_start)) - 0.5


@pytest.mark.parametrize('seed', range(5))
def test_crop_is_the_resized_region_its_box_names(seed):
    torch.manual_seed(seed)
    crop = RandomResizedCropWithBox(size=(24, 32), scale=(0.1, 0.6))
    img = coordinate_image()
    results = crop(dict(img=img))
    box = results['view_box']
    assert box.dtype == np.float32 and 0 <= box.min() and box.max() <= 1
    assert box[0] < box[2] and box[1] < box[3]
    x1, y1, x2, y2 = np.round(box * [W, H, W, H]).astype(int)
    expected = cv2.resize(img[y1:y2, x1:x2], (32, 24), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(results['img'], expected)
    assert results['img_shape'] == (24, 32)
    # Each output pixel holds the original coordinate the box maps it to (bilinear on a
    # linear ramp is exact; border pixels clamp to the crop's edge pixels).
    xs = np.clip(expected_source_coordinate(box[0], box[2], W, 32), x1, x2 - 1)
    ys = np.clip(expected_source_coordinate(box[1], box[3], H, 24), y1, y2 - 1)
    np.testing.assert_allclose(results['img'][0, :, 0], xs, atol=1)
    np.testing.assert_allclose(results['img'][:, 0, 1], ys, atol=1)


def test_crop_sampling_matches_torchvision():
    scale, ratio = (0.2, 1.0), (3 / 4, 4 / 3)
    crop = RandomResizedCropWithBox(size=8, scale=scale, ratio=ratio)
    for seed in range(100):
        torch.manual_seed(seed)
        top, left, h, w = crop.sample_crop(H, W)
        assert 0 <= top and top + h <= H and 0 <= left and left + w <= W
        torch.manual_seed(seed)
        expected = T.RandomResizedCrop.get_params(torch.empty(3, H, W), scale, ratio)
        assert (top, left, h, w) == tuple(expected)


def test_crop_area_and_aspect_follow_their_ranges():
    # On a square image no draw from these ranges is rejected, so area fractions are
    # uniform in `scale` and log aspect ratios uniform in log `ratio` (up to rounding).
    scale, ratio = (0.08, 0.5), (3 / 4, 4 / 3)
    crop = RandomResizedCropWithBox(size=8, scale=scale, ratio=ratio)
    torch.manual_seed(0)
    crops = np.array([crop.sample_crop(200, 200) for _ in range(400)])
    areas = crops[:, 2] * crops[:, 3] / 200**2
    log_aspects = np.log(crops[:, 3] / crops[:, 2])
    assert areas.min() >= scale[0] * 0.97 and areas.max() <= scale[1] * 1.03
    assert np.abs(log_aspects).max() <= np.log(4 / 3) + 0.02
    assert abs(areas.mean() - 0.29) < 0.02 and abs(np.median(areas) - 0.29) < 0.03
    assert abs(log_aspects.mean()) < 0.025
    assert abs(log_aspects.std() - 2 * np.log(4 / 3) / np.sqrt(12)) < 0.02


def test_crop_falls_back_to_a_centre_crop():
    torch.manual_seed(0)
    crop = RandomResizedCropWithBox(size=16, scale=(0.99, 1.0), ratio=(2.0, 3.0))
    results = crop(dict(img=np.zeros((100, 100, 3), np.uint8)))
    # A square image cannot hold a 2:1 crop of ~all its area: full width, height 50, centred.
    np.testing.assert_allclose(results['view_box'], [0, 0.25, 1, 0.75])


def test_view_boxes_compose_linearly():
    np.testing.assert_allclose(
        compose_view_box(np.array([0.2, 0.1, 0.6, 0.5]), np.array([0.5, 0.5, 1, 1])),
        [0.4, 0.3, 0.6, 0.5], atol=1e-6)
    flipped = np.array([0.6, 0.1, 0.2, 0.5])
    np.testing.assert_allclose(compose_view_box(flipped, np.array([0, 0, 0.5, 1])),
                               [0.6, 0.1, 0.4, 0.5], atol=1e-6)


@pytest.mark.parametrize('direction,expected_box,flip_axis', [
    ('horizontal', [0.5, 0.2, 0.1, 0.6], 1),
    ('vertical', [0.1, 0.6, 0.5, 0.2], 0),
    ('diagonal', [0.5, 0.6, 0.1, 0.2], (0, 1)),
])
def test_flip_flips_image_and_swaps_box_corners(direction, expected_box, flip_axis):
    img = random_image()
    box = np.array([0.1, 0.2, 0.5, 0.6], np.float32)
    results = RandomFlipWithBox(prob=1.0, direction=direction)(dict(img=img, view_box=box))
    np.testing.assert_array_equal(results['img'], np.flip(img, flip_axis))
    np.testing.assert_allclose(results['view_box'], expected_box)
    assert results['flip'] and results['flip_direction'] == direction
    np.testing.assert_array_equal(box, np.float32([0.1, 0.2, 0.5, 0.6]))  # input untouched


def test_flip_keeps_mmcv_semantics_when_not_flipping_and_adds_a_full_box():
    img = random_image()
    results = RandomFlipWithBox(prob=0.0)(dict(img=img))
    assert results['flip'] is False and results['flip_direction'] is None
    np.testing.assert_array_equal(results['img'], img)
    np.testing.assert_array_equal(results['view_box'], [0, 0, 1, 1])
    results = RandomFlipWithBox(prob=1.0)(dict(img=img))
    np.testing.assert_array_equal(results['view_box'], [1, 0, 0, 1])


def test_flipped_view_box_still_maps_pixels_to_the_original():
    torch.manual_seed(3)
    img = coordinate_image()
    results = RandomResizedCropWithBox(size=(24, 32), scale=(0.1, 0.6))(dict(img=img))
    results = RandomFlipWithBox(prob=1.0)(results)
    x1, _, x2, _ = results['view_box']
    assert x1 > x2
    xs = expected_source_coordinate(x1, x2, W, 32)
    # Interior pixels only: borders clamp to the crop edge.
    np.testing.assert_allclose(results['img'][0, 1:-1, 0], xs[1:-1], atol=1)


def test_color_jitter_with_zero_strengths_is_the_identity():
    jitter = ColorJitter()
    assert jitter.sample_params()[1] == [None, None, None, None]
    img = random_image()
    np.testing.assert_array_equal(jitter(dict(img=img.copy()))['img'], img)


def test_color_jitter_equals_torchvision_for_the_same_seed():
    """Exact without hue (same kernels); with hue, OpenCV's HSV round trip differs from
    torch's by float rounding only: at most 1 level, on very few pixels, unbiased."""
    img = random_image(1, shape=(64, 80))
    rgb = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1)
    for hue in (0., 0.1):
        ours = ColorJitter(0.4, 0.4, 0.4, hue)
        reference = T2.ColorJitter(0.4, 0.4, 0.4, hue)
        diffs = []
        for seed in range(8):
            torch.manual_seed(seed)
            out = ours(dict(img=img.copy()))['img']
            torch.manual_seed(seed)
            expected = reference(rgb).permute(1, 2, 0).numpy()[..., ::-1]
            assert out.dtype == np.uint8 and out.flags.c_contiguous
            diffs.append(out.astype(int) - expected.astype(int))
        diffs = np.stack(diffs)
        if hue == 0.:
            assert not diffs.any()
        else:
            assert np.abs(diffs).max() <= 1
            assert (diffs != 0).mean() < 2e-3
            assert abs(diffs.mean()) < 1e-3


@pytest.mark.parametrize('hue', [-0.5, -0.1, 0.03, 0.25, 0.5])
def test_hue_rotation_matches_torchvision_kernel(hue):
    from mmdense.datasets.transforms.color_jitter import adjust_hue_rgb
    rgb = np.random.default_rng(3).integers(0, 256, (48, 40, 3), dtype=np.uint8)
    rgb[:8] = rgb[:8, :, :1]  # grey pixels: zero saturation keeps them unchanged
    expected = TF2.adjust_hue(torch.from_numpy(rgb).permute(2, 0, 1), hue).permute(1, 2, 0).numpy()
    diff = adjust_hue_rgb(rgb, hue).astype(int) - expected.astype(int)
    assert np.abs(diff).max() <= 1 and (diff != 0).mean() < 2e-3


def test_color_jitter_output_distribution_matches_torchvision():
    """Independent draws (different seeds): per-channel mean and spread agree."""
    ours = ColorJitter(0.4, 0.4, 0.4, 0.1)
    reference = T.ColorJitter(0.4, 0.4, 0.4, 0.1)  # the MoCo v2 reference's transform
    img = random_image(2, shape=(12, 12))
    rgb = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on 12x12 images, waking worker threads costs more than the op
    try:
        torch.manual_seed(0)
        ours_means = np.array([ours(dict(img=img.copy()))['img'][..., ::-1].mean((0, 1))
                               for _ in range(300)])
        torch.manual_seed(12345)
        ref_means = np.array([reference(rgb).float().mean((1, 2)).numpy() for _ in range(300)])
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(ours_means.mean(0), ref_means.mean(0), atol=6)
    np.testing.assert_allclose(ours_means.std(0), ref_means.std(0), rtol=0.25)


def test_grayscale_gives_equal_channels_with_pil_luma():
    img = random_image(3)
    np.random.seed(0)
    out = RandomGrayscale(prob=1.0)(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    pil_luma = np.asarray(Image.fromarray(img[..., ::-1]).convert('L')).astype(int)
    assert np.abs(out[..., 0].astype(int) - pil_luma).max() <= 1
    np.testing.assert_array_equal(RandomGrayscale(prob=0.0)(dict(img=img.copy()))['img'], img)


def test_grayscale_probability():
    np.random.seed(0)
    gray = RandomGrayscale(prob=0.2)
    img = random_image(4, shape=(4, 4))  # random colours: never grey by chance
    hits = sum(np.ptp(gray(dict(img=img))['img'], axis=2).max() == 0 for _ in range(1000))
    assert 150 < hits < 250


def test_gaussian_blur_reduces_variance_with_sigma_in_range():
    np.random.seed(0)
    blur = GaussianBlur(sigma_min=0.5, sigma_max=2.0)
    sigmas = [blur.sample_sigma() for _ in range(200)]
    assert 0.5 <= min(sigmas) and max(sigmas) <= 2.0 and np.std(sigmas) > 0.3
    img = random_image(5)
    out = blur(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out.astype(float).var() < 0.5 * img.astype(float).var()
    assert abs(out.astype(float).mean() - img.astype(float).mean()) < 3


def test_solarize_inverts_values_at_or_above_threshold():
    img = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    out = Solarize(threshold=128)(dict(img=img))['img']
    values = np.arange(256)
    np.testing.assert_array_equal(out[..., 0].ravel(), np.where(values >= 128, 255 - values,
                                                                values))


VIEW_PIPELINE = [
    dict(type='RandomResizedCropWithBox', size=16, scale=(0.2, 1.)),
    dict(type='RandomApply', transforms=[dict(type='ColorJitter', brightness=0.4)], prob=0.8),
    dict(type='RandomFlipWithBox', prob=0.5),
]


def test_multi_view_gives_each_view_its_own_box():
    torch.manual_seed(0)
    np.random.seed(0)
    multi_view = TRANSFORMS.build(dict(type='MultiView', num_views=2, transforms=[VIEW_PIPELINE]))
    img = random_image(6, shape=(48, 64))
    results = multi_view(dict(img=img, img_path='a.jpg', ori_shape=(48, 64)))
    assert len(results['img']) == 2 and len(results['view_box']) == 2
    assert all(view.shape == (16, 16, 3) for view in results['img'])
    assert results['img_shape'] == [(16, 16), (16, 16)]
    assert len(results['flip']) == 2
    assert not np.allclose(results['view_box'][0], results['view_box'][1])
    # Keys no view changed stay scalars; the input image is untouched.
    assert results['img_path'] == 'a.jpg' and results['ori_shape'] == (48, 64)
    np.testing.assert_array_equal(img, random_image(6, shape=(48, 64)))


def test_multi_view_asymmetric_pipelines():
    small = [dict(type='RandomResizedCropWithBox', size=8)]
    large = [dict(type='RandomResizedCropWithBox', size=12), dict(type='Solarize')]
    multi_view = MultiView(num_views=[1, 2], transforms=[small, large])
    results = multi_view(dict(img=random_image(7)))
    assert [view.shape[:2] for view in results['img']] == [(8, 8), (12, 12), (12, 12)]
    with pytest.raises(ValueError, match='one pipeline per entry'):
        MultiView(num_views=2, transforms=[small, large])


def test_pack_multi_view_results():
    multi_view = MultiView(num_views=2, transforms=[VIEW_PIPELINE])
    results = multi_view(dict(img=random_image(8), img_path='x/y.jpg'))
    packed = PackSelfSupInputs(meta_keys=('img_path', 'flip', 'absent'))(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert len(inputs) == 2
    for tensor, view in zip(inputs, results['img']):
        assert tensor.dtype == torch.uint8 and tensor.shape == (3, 16, 16)
        assert tensor.is_contiguous()
        np.testing.assert_array_equal(tensor.numpy(), view.transpose(2, 0, 1))  # still BGR
    assert sample.view_boxes.dtype == torch.float32 and sample.view_boxes.shape == (2, 4)
    np.testing.assert_array_equal(sample.view_boxes.numpy(), np.stack(results['view_box']))
    assert sample.img_path == 'x/y.jpg' and len(sample.flip) == 2
    assert 'absent' not in sample.metainfo_keys()


def test_pack_single_image():
    img = random_image(9)
    packed = PackSelfSupInputs()(dict(img=img, img_path='z.jpg'))
    assert [tuple(t.shape) for t in packed['inputs']] == [(3, 32, 40)]
    assert 'view_boxes' not in packed['data_samples']
    packed = PackSelfSupInputs()(dict(img=img[..., 0], view_box=np.array([0, 0, 1, 1.]),
                                      img_path='z.jpg'))
    assert tuple(packed['inputs'][0].shape) == (1, 32, 40)
    assert packed['data_samples'].view_boxes.shape == (1, 4)
