"""Reduced-size JPEG decode: header reading, the scale rule, and equality with the full path
up to resampling (same draws, same view boxes)."""
import io
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from PIL import Image

from mmdense.datasets import UnlabeledImageDataset
from mmdense.datasets.demo.scenes import render_scene
from mmdense.datasets.transforms import (BadImageError, LazyJPEG, LoadImageFromFile, MultiView,
                                         RandomFlipWithBox, RandomResizedCropWithBox, dct_scale,
                                         read_jpeg_header)

# The MoCo v2 view pipeline of configs/_base_/datasets/demo_mocov2.py (photometric draws
# included, so equal draws in both paths are checked through them too).
VIEW = [
    dict(type='RandomResizedCropWithBox', size=64, scale=(0.2, 1.)),
    dict(type='RandomApply', transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    ], prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
    dict(type='RandomApply', transforms=[dict(type='GaussianBlur', sigma_min=0.03,
                                              sigma_max=0.6)], prob=0.5),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
]


def scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A BGR demo scene of (height, width): the square render, centre-cropped."""
    side = max(height, width)
    img, _ = render_scene(np.random.default_rng(seed), side, 'street')
    top, left = (side - height) // 2, (side - width) // 2
    return np.ascontiguousarray(img[top:top + height, left:left + width])


def write_jpeg(path, img: np.ndarray, quality: int = 90) -> str:
    assert cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return str(path)


def pil_jpeg(img: np.ndarray, **kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img[..., ::-1])).save(buf, 'JPEG', **kwargs)
    return buf.getvalue()


def cmyk_jpeg(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img[..., ::-1])).convert('CMYK').save(buf, 'JPEG')
    return buf.getvalue()


def exif(orientation: int) -> bytes:
    tags = Image.Exif()
    tags[0x0112] = orientation
    return tags.tobytes()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float('inf') if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def assert_resampling_only(full_out: dict, reduced_out: dict, full_img: np.ndarray) -> None:
    """The reduced-decode view equals the full-decode one up to resampling error.

    Both sample the same box; the full path's cv2 bilinear aliases when it shrinks by more
    than 2, the reduced path's DCT scaling low-passes first, so the reduced view must be at
    least as close as the full one to an antialiased (area) resize of the box, and close to
    the full view itself (PSNR).
    """
    a, b = full_out['img'], reduced_out['img']
    assert a.shape == b.shape and b.dtype == np.uint8
    np.testing.assert_array_equal(full_out['view_box'], reduced_out['view_box'])
    height, width = full_img.shape[:2]
    x1, y1, x2, y2 = np.round(full_out['view_box'] * [width, height, width, height]).astype(int)
    ideal = cv2.resize(full_img[y1:y2, x1:x2], a.shape[1::-1], interpolation=cv2.INTER_AREA)
    err_full = np.abs(a.astype(int) - ideal).mean()
    err_reduced = np.abs(b.astype(int) - ideal).mean()
    assert err_reduced <= err_full + 0.25
    assert psnr(a, b) > 24


@pytest.fixture(scope='module')
def large_jpeg(tmp_path_factory):
    """A 960 x 720 quality-90 scene: 64 px crops of it allow DCT scales 2 to 8."""
    return write_jpeg(tmp_path_factory.mktemp('reduced') / 'large.jpg', scene(720, 960))


def run(pipeline, path: str, seed: int) -> dict:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return pipeline(dict(img_path=path))


RGB = scene(37, 53)


@pytest.mark.parametrize('name,data', [
    ('baseline 4:2:0', cv2.imencode('.jpg', RGB)[1].tobytes()),
    ('4:4:4', cv2.imencode('.jpg', RGB, [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                         cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])[1].tobytes()),
    ('progressive', pil_jpeg(RGB, progressive=True)),
    ('grayscale', cv2.imencode('.jpg', RGB[..., 0])[1].tobytes()),
    ('cmyk', cmyk_jpeg(RGB)),
    ('exif rotated 90', pil_jpeg(RGB, exif=exif(6))),
    ('exif rotated 180', pil_jpeg(RGB, exif=exif(3))),
    ('exif transposed', pil_jpeg(RGB, exif=exif(5))),
])
def test_jpeg_header_gives_the_size_opencv_decodes_to(name, data):
    buf = np.frombuffer(data, np.uint8)
    header = read_jpeg_header(data)
    assert header is not None, name
    assert (header.height, header.width) == cv2.imdecode(buf, cv2.IMREAD_COLOR).shape[:2]
    ignoring = read_jpeg_header(data, apply_orientation=False)
    flag = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    assert (ignoring.height, ignoring.width) == cv2.imdecode(buf, flag).shape[:2] == (37, 53)
    for scale, flag in ((2, cv2.IMREAD_REDUCED_COLOR_2), (8, cv2.IMREAD_REDUCED_COLOR_8)):
        assert cv2.imdecode(buf, flag).shape[:2] == (-(-header.height // scale),
                                                     -(-header.width // scale))


def test_jpeg_header_is_none_for_files_decoded_at_full_size():
    jpeg = cv2.imencode('.jpg', RGB)[1].tobytes()
    sof = jpeg.index(b'\xff\xc0')
    assert read_jpeg_header(cv2.imencode('.png', RGB)[1].tobytes()) is None
    assert read_jpeg_header(jpeg[:sof + 4]) is None  # cut inside the frame header
    assert read_jpeg_header(b'\xff\xd8' + b'no markers here' * 8) is None
    assert read_jpeg_header(jpeg[:sof] + b'\xff\xc3' + jpeg[sof + 2:]) is None  # lossless


@pytest.mark.parametrize('crop,expected', [
    ((224, 224), 1), ((447, 900), 1), ((448, 448), 2), ((895, 1000), 2), ((896, 896), 4),
    ((1791, 1792), 4), ((1792, 1792), 8), ((5000, 5000), 8), ((100, 100), 1),
])
def test_dct_scale_keeps_at_least_one_source_pixel_per_output_pixel_along_each_side(
        crop, expected):
    assert dct_scale(*crop, 224, 224) == expected
    assert dct_scale(crop[1], crop[0], 224, 224) == expected  # the rule is per side
    assert dct_scale(crop[0], crop[1], 224, 112) == dct_scale(crop[0], 2 * crop[1], 224, 224)


def test_loader_defers_jpegs_and_loads_other_files_as_before(tmp_path, large_jpeg):
    reduced, full = LoadImageFromFile(reduced_decode=True), LoadImageFromFile()
    lazy = reduced(dict(img_path=large_jpeg))
    assert 'img' not in lazy and isinstance(lazy['lazy_img'], LazyJPEG)
    assert lazy['img_shape'] == lazy['ori_shape'] == (720, 960)
    # At scale 1 the lazy decode is the eager one, bit for bit.
    np.testing.assert_array_equal(lazy['lazy_img'].decode(1)[0],
                                  full(dict(img_path=large_jpeg))['img'])
    png = str(tmp_path / 'scene.png')
    assert cv2.imwrite(png, scene(40, 50))
    eager = reduced(dict(img_path=png))
    assert 'lazy_img' not in eager
    np.testing.assert_array_equal(eager['img'], full(dict(img_path=png))['img'])
    with pytest.raises(ValueError, match="imdecode_backend='cv2'"):
        LoadImageFromFile(reduced_decode=True, imdecode_backend='pillow')
    with pytest.raises(ValueError, match='color_type'):
        LoadImageFromFile(reduced_decode=True, color_type='unchanged')


def test_reduced_crop_differs_from_full_decode_by_resampling_only(large_jpeg):
    """Same draws, same box; the pixels differ by the resampling error of the full path."""
    full_img = cv2.imread(large_jpeg)
    crop = RandomResizedCropWithBox(size=64, scale=(0.08, 1.))
    full, reduced = LoadImageFromFile(), LoadImageFromFile(reduced_decode=True)
    scales = set()
    for seed in range(16):
        torch.manual_seed(seed)
        a = crop(full(dict(img_path=large_jpeg)))
        after_full = torch.rand(1)
        torch.manual_seed(seed)
        b = crop(reduced(dict(img_path=large_jpeg)))
        assert torch.rand(1) == after_full  # both paths drew the same numbers
        np.testing.assert_array_equal(a['view_box'], b['view_box'])
        scales.add(b['decode_scale'])
        assert b['decode_scale'] == dct_scale(*(np.round(
            (a['view_box'][[3, 2]] - a['view_box'][[1, 0]]) * [720, 960]).astype(int)), 64, 64)
        assert b['img'].shape == (64, 64, 3)
        assert_resampling_only(a, b, full_img)
    assert {2, 4, 8} <= scales


@pytest.mark.parametrize('axis', [0, 1])
def test_reduced_views_keep_the_geometry(tmp_path, axis):
    """On a grey ramp (one level per pixel) each output pixel shows the original coordinate
    its box names, without offset: rounding the box to reduced pixels would shift the view
    by up to s / 2 pixels. (The 1/8 decode rounds block means, hence half a level.)"""
    coord = np.mgrid[0:256, 0:256][1 - axis]  # x for axis 0, y for axis 1
    path = write_jpeg(tmp_path / 'ramp.jpg', coord.astype(np.uint8), quality=100)
    crop = RandomResizedCropWithBox(size=16, scale=(0.3, 1.))
    loader = LoadImageFromFile(reduced_decode=True)
    scales = set()
    for seed in range(8):
        torch.manual_seed(seed)
        out = crop(loader(dict(img_path=path)))
        scales.add(out['decode_scale'])
        start, end = out['view_box'][[axis, axis + 2]]
        expected = 256 * (start + (np.arange(16) + 0.5) / 16 * (end - start)) - 0.5
        error = (out['img'][8, :, 0] if axis == 0 else out['img'][:, 8, 0]) - expected
        assert abs(error.mean()) < 0.75 and np.abs(error).max() < 1.5
    assert scales == {4, 8}


def test_exif_rotated_jpeg_reduces_like_the_full_decode(tmp_path):
    path = tmp_path / 'rotated.jpg'
    path.write_bytes(pil_jpeg(scene(480, 720), quality=90, exif=exif(6)))
    full_img = cv2.imread(str(path))
    assert full_img.shape[:2] == (720, 480)  # OpenCV turned it
    crop = RandomResizedCropWithBox(size=48, scale=(0.5, 1.))
    for seed in range(3):
        torch.manual_seed(seed)
        a = crop(LoadImageFromFile()(dict(img_path=str(path))))
        torch.manual_seed(seed)
        b = crop(LoadImageFromFile(reduced_decode=True)(dict(img_path=str(path))))
        assert b['decode_scale'] > 1
        assert_resampling_only(a, b, full_img)


def test_two_view_pipeline_matches_full_decode_with_the_same_draws(large_jpeg, tmp_path):
    pipelines = {reduced: Compose([LoadImageFromFile(reduced_decode=reduced),
                                   MultiView(num_views=2, transforms=[VIEW])])
                 for reduced in (False, True)}
    scales = []
    for seed in range(4):
        a, b = (run(pipelines[r], large_jpeg, seed) for r in (False, True))
        assert 'lazy_img' not in b
        scales += b['decode_scale']
        after_reduced = torch.rand(1)
        run(pipelines[False], large_jpeg, seed)
        assert torch.rand(1) == after_reduced
        np.testing.assert_array_equal(np.stack(a['view_box']), np.stack(b['view_box']))
        assert a['flip'] == b['flip']
        # The same photometric draws, applied to pixels that differ by resampling only.
        for x, y in zip(a['img'], b['img']):
            assert psnr(x, y) > 20
    assert len(scales) == 8 and max(scales) > 1
    # A crop that never allows a reduction gives exactly the full-decode output.
    small = write_jpeg(tmp_path / 'small.jpg', scene(100, 120))
    for seed in range(3):
        a, b = (run(pipelines[r], small, seed) for r in (False, True))
        assert b['decode_scale'] == [1, 1]
        for x, y in zip(a['img'], b['img']):
            np.testing.assert_array_equal(x, y)


def test_a_decode_is_reused_by_views_that_allow_its_scale(monkeypatch):
    lazy = LazyJPEG(b'', 'x.jpg', read_jpeg_header(cv2.imencode('.jpg', RGB)[1].tobytes()))
    calls = []

    def fake_decode(self, scale):
        calls.append(scale)
        return np.zeros((-(-37 // scale), -(-53 // scale), 3), np.uint8)

    monkeypatch.setattr(LazyJPEG, '_decode', fake_decode)
    first, scale = lazy.decode(4)
    again, scale_again = lazy.decode(8)
    assert scale == scale_again == 4 and again is first and calls == [4]  # coarser: reused
    assert lazy.decode(2)[1] == 2 and calls == [4, 2]  # finer: decoded again
    assert lazy.decode(4)[1] == 4 and lazy.decode(1)[1] == 1 and calls == [4, 2, 1]


def test_two_views_of_a_large_image_decode_it_once(tmp_path, monkeypatch):
    path = write_jpeg(tmp_path / 'big.jpg', scene(1024, 1024), quality=80)
    shipped, decodes = LazyJPEG._decode, []

    def spy(self, scale):
        decodes.append(scale)
        return shipped(self, scale)

    monkeypatch.setattr(LazyJPEG, '_decode', spy)
    view = [dict(type='RandomResizedCropWithBox', size=64, scale=(0.5, 1.)),
            dict(type='RandomFlipWithBox', prob=0.5)]
    out = Compose([LoadImageFromFile(reduced_decode=True), MultiView(2, [view])])(
        dict(img_path=path))
    # Every crop of at least half the area allows 1/8 (side >= 627 > 8 x 64).
    assert decodes == [8] and out['decode_scale'] == [8, 8]


def test_first_of_two_views_decodes_finer_when_a_second_decode_is_likely():
    crop = RandomResizedCropWithBox(size=224, scale=(0.08, 1.))
    # 2000 x 1500: a 1/4 view is as likely as a 1/2 one, and 1/4 saves little over 1/2.
    probs = crop._scale_probabilities(1500, 2000)
    assert probs[2] > 0.2 and probs[4] > 0.2 and abs(sum(probs.values()) - 1) < 1e-9
    assert crop._shared_decode_scale(4, 1500, 2000, 600_000) == 2
    # Crops that all allow 1/8 (a huge image, small output): no reason to go finer.
    small_out = RandomResizedCropWithBox(size=32, scale=(0.5, 1.))
    assert small_out._shared_decode_scale(8, 1500, 2000, 600_000) == 8
    # The estimate draws nothing from the global generator.
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    RandomResizedCropWithBox(size=224)._scale_probabilities(999, 1333)
    assert torch.rand(1) == expected


def test_view_pipeline_not_starting_with_the_crop_gets_a_full_decode(large_jpeg):
    view = [dict(type='RandomFlipWithBox', prob=0.5),
            dict(type='RandomResizedCropWithBox', size=32)]
    pipelines = [Compose([LoadImageFromFile(reduced_decode=r), MultiView(2, [view])])
                 for r in (False, True)]
    a, b = (run(p, large_jpeg, 0) for p in pipelines)
    assert 'decode_scale' not in b
    for x, y in zip(a['img'], b['img']):
        np.testing.assert_array_equal(x, y)


def test_bad_files_raise_the_same_errors(tmp_path):
    good = cv2.imencode('.jpg', scene(300, 400))[1].tobytes()
    (tmp_path / 'cut.jpg').write_bytes(good[:len(good) // 2])
    # Valid header without quantisation tables: found only when decoding.
    out, pos = bytearray(good[:2]), 2
    while good[pos + 1] != 0xDA:
        length = int.from_bytes(good[pos + 2:pos + 4], 'big')
        if good[pos + 1] != 0xDB:
            out += good[pos:pos + 2 + length]
        pos += 2 + length
    (tmp_path / 'noqt.jpg').write_bytes(bytes(out + good[pos:]))
    assert read_jpeg_header(bytes(out + good[pos:])) is not None
    crop = dict(type='RandomResizedCropWithBox', size=32, scale=(0.9, 1.))
    for name, reason in (('cut.jpg', 'truncated JPEG'), ('noqt.jpg', 'cannot be decoded')):
        path = str(tmp_path / name)
        messages = []
        for reduced in (False, True):
            pipeline = Compose([LoadImageFromFile(reduced_decode=reduced),
                                MultiView(2, [[crop]])])
            with pytest.raises(BadImageError, match=reason) as info:
                pipeline(dict(img_path=path))
            messages.append(str(info.value))
            lenient = Compose([LoadImageFromFile(reduced_decode=reduced, ignore_empty=True),
                               MultiView(2, [[crop]])])
            assert lenient(dict(img_path=path)) is None
        assert messages[0] == messages[1]
    # The dataset's skip_bad_images also catches the error raised by the deferred decode.
    (tmp_path / 'list.txt').write_text('noqt.jpg\n')
    dataset = UnlabeledImageDataset(
        ann_file=str(tmp_path / 'list.txt'), data_prefix=dict(img_path=str(tmp_path)),
        skip_bad_images=True, serialize_data=False,
        pipeline=[dict(type='LoadImageFromFile', reduced_decode=True),
                  dict(type='MultiView', num_views=2, transforms=[[crop]])])
    assert dataset.prepare_data(0) is None and dataset.num_skipped_images == 1


def test_flip_after_reduced_crop_flips_the_box(large_jpeg):
    pipeline = Compose([LoadImageFromFile(reduced_decode=True),
                        RandomResizedCropWithBox(size=32),
                        RandomFlipWithBox(prob=1.0)])
    out = pipeline(dict(img_path=large_jpeg))
    assert out['flip'] and out['view_box'][0] > out['view_box'][2]


@pytest.mark.parametrize('name', ['imagenet_mocov2.py', 'imagenet_byol.py', 'coco_mocov2.py'])
def test_paper_configs_keep_full_decode_and_switch_with_one_option(name, large_jpeg):
    from mmengine.config import Config

    from mmdense.registry import TRANSFORMS
    root = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / 'datasets'
    cfg = Config.fromfile(str(root / name))
    assert cfg.train_dataloader.dataset.pipeline[0] == dict(type='LoadImageFromFile',
                                                            reduced_decode=False)
    dataset = cfg.train_dataloader.dataset
    pipelines = {False: Compose([TRANSFORMS.build(t) for t in dataset.pipeline])}
    cfg.merge_from_dict({'train_dataloader.dataset.pipeline.0.reduced_decode': True})  # the switch
    pipelines[True] = Compose([TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline])
    assert pipelines[True].transforms[0].reduced_decode
    full, reduced = (run(pipelines[r], large_jpeg, 1) for r in (False, True))
    assert [tuple(x.shape) for x in reduced['inputs']] == [(3, 224, 224)] * 2
    assert torch.equal(full['data_samples'].view_boxes, reduced['data_samples'].view_boxes)
