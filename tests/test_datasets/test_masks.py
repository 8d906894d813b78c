"""DetCon's masks: the offline Felzenszwalb tool (resumable, atomic, parallel = serial, the
uint8/uint16 rule, clear errors) and the mask following each view's crop and flip."""
import os

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

from mmdense.datasets.felzenszwalb_masks import (MissingMaskError, felzenszwalb_mask,
                                                 generate_masks, list_images, mask_path_for,
                                                 read_mask, write_mask)
from mmdense.datasets.transforms import (LoadFelzenszwalbMask, LoadImageFromFile, MultiView,
                                         PackSelfSupInputs)


def _write_images(root, count=4, size=(48, 64)):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        img = np.zeros((*size, 3), np.uint8)
        img[:, : size[1] // 2] = rng.integers(0, 60, 3)
        img[:, size[1] // 2:] = rng.integers(180, 255, 3)
        img[size[0] // 2:, :, 1] = 120
        path = root / f'cls{i % 2}' / f'img{i}.jpg'
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        paths.append(str(path))
    return paths


def test_tool_is_resumable_atomic_and_parallel_equals_serial(tmp_path):
    serial, parallel = tmp_path / 'serial', tmp_path / 'parallel'
    for root in (serial, parallel):
        _write_images(root)
    assert generate_masks(str(serial), workers=1, scale=10, min_size=20) == 4
    assert generate_masks(str(parallel), workers=2, scale=10, min_size=20) == 4
    names = [os.path.relpath(p, serial) for p in list_images(str(serial))]
    assert len(names) == 4 and not any(n.startswith('masks') for n in names)
    for name in names:
        a = read_mask(mask_path_for(str(serial / name), str(serial)))
        b = read_mask(mask_path_for(str(parallel / name), str(parallel)))
        assert np.array_equal(a, b) and a.shape == (48, 64) and len(np.unique(a)) > 1
    stamp = {p: os.stat(p).st_mtime_ns for p in (serial / 'masks').rglob('*.png')}
    assert generate_masks(str(serial), workers=2, scale=10, min_size=20) == 0
    assert {p: os.stat(p).st_mtime_ns for p in (serial / 'masks').rglob('*.png')} == stamp
    assert not [p for p in (serial / 'masks').rglob('.tmp-*')]


def test_mask_equals_skimage_on_the_decoded_rgb_image(tmp_path):
    from skimage.segmentation import felzenszwalb
    path = _write_images(tmp_path, 1)[0]
    bgr = cv2.imread(path)
    ours = felzenszwalb_mask(bgr)  # the authors' scale 1000, min_size 1000, sigma 0.8
    ref = felzenszwalb(bgr[..., ::-1].copy(), scale=1000, sigma=0.8, min_size=1000)
    assert np.array_equal(ours, ref)


def test_uint8_up_to_255_then_uint16(tmp_path):
    small, large = np.arange(256).reshape(16, 16), np.arange(300).reshape(15, 20)
    write_mask(str(tmp_path / 'a.png'), small)
    write_mask(str(tmp_path / 'b.png'), large)
    assert cv2.imread(str(tmp_path / 'a.png'), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    assert cv2.imread(str(tmp_path / 'b.png'), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    assert np.array_equal(read_mask(str(tmp_path / 'b.png')), large)
    with pytest.raises(ValueError, match='65535'):
        write_mask(str(tmp_path / 'c.png'), np.full((2, 2), 70000))


def test_missing_or_misfit_mask_names_the_files(tmp_path):
    path = _write_images(tmp_path, 1)[0]
    results = LoadImageFromFile()(dict(img_path=path))
    loader = LoadFelzenszwalbMask(img_root=str(tmp_path))
    with pytest.raises(MissingMaskError, match=r'masks/cls0/img0\.png not found.*img0\.jpg'):
        loader(dict(results))
    write_mask(mask_path_for(path, str(tmp_path)), np.zeros((10, 10), np.int64))
    with pytest.raises(MissingMaskError, match=r'10x10 but its image .*img0\.jpg is 48x64'):
        loader(dict(results))


@pytest.mark.parametrize('reduced_decode', [False, True])
def test_known_pixel_follows_crop_and_flip(tmp_path, reduced_decode):
    """Every pixel of the view holds the id of the original pixel its centre maps to."""
    height, width = 48, 64
    path = _write_images(tmp_path, 1, (height, width))[0]
    ids = np.arange(height * width).reshape(height, width)  # id = y * W + x, uint16 PNG
    write_mask(mask_path_for(path, str(tmp_path)), ids)
    out = 24
    view = [dict(type='RandomResizedCropWithBox', size=out, scale=(0.2, 0.6)),
            dict(type='RandomFlipWithBox', prob=1.0, direction='horizontal')]
    pipeline = Compose([
        LoadImageFromFile(reduced_decode=reduced_decode),
        LoadFelzenszwalbMask(img_root=str(tmp_path)),
        MultiView(num_views=2, transforms=[view]),
        PackSelfSupInputs()])
    torch.manual_seed(0)
    packed = pipeline(dict(img_path=path))
    sample = packed['data_samples']
    assert sample.seg_masks.shape == (2, out, out) and sample.seg_masks.dtype == torch.int32
    centres = (np.arange(out) + 0.5) / out
    for v in range(2):
        x1, y1, x2, y2 = sample.view_boxes[v].double().numpy()
        assert x1 > x2  # flipped
        cols = np.floor((x1 + centres * (x2 - x1)) * width).astype(int)
        rows = np.floor((y1 + centres * (y2 - y1)) * height).astype(int)
        expected = rows[:, None] * width + cols[None, :]
        assert np.array_equal(sample.seg_masks[v].numpy(), expected)


def test_no_mask_keeps_todays_outputs(tmp_path):
    path = _write_images(tmp_path, 1)[0]
    view = [dict(type='RandomResizedCropWithBox', size=16),
            dict(type='RandomFlipWithBox', prob=0.5)]
    pipeline = Compose([LoadImageFromFile(), MultiView(num_views=2, transforms=[view]),
                        PackSelfSupInputs()])
    torch.manual_seed(0)
    sample = pipeline(dict(img_path=path))['data_samples']
    assert 'seg_masks' not in sample and sample.view_boxes.shape == (2, 4)


def test_command_line_writes_then_skips(tmp_path):
    import importlib.util
    import os.path as osp
    tool = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'misc', 'generate_masks.py')
    spec = importlib.util.spec_from_file_location('generate_masks_tool', tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _write_images(tmp_path, 2)
    args = [str(tmp_path), '--mask-root', str(tmp_path / 'fh'), '--min-size', '20']
    assert module.main(args) == 2
    assert module.main(args) == 0
    assert len(list((tmp_path / 'fh').rglob('*.png'))) == 2
