"""View boxes follow crop and flip, and reach the model as (N, 4) per view."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmdense.datasets.transforms import (MultiView, PackSelfSupInputs, RandomFlipWithBox,
                                         RandomResizedCropWithBox)
from mmdense.models.data_preprocessors import SelfSupDataPreprocessor
from mmdense.models.utils import stack_view_boxes

REPO = Path(__file__).resolve().parents[2]
H, W, S = 80, 100, 64


def coordinate_image() -> np.ndarray:
    """Channel 0 holds each pixel's column, channel 1 its row: pixels say where they came from."""
    ys, xs = np.mgrid[0:H, 0:W]
    return np.stack([xs, ys, np.zeros_like(xs)], axis=-1).astype(np.uint8)


def assert_view_maps_back(view: np.ndarray, box: np.ndarray) -> None:
    """Every view pixel's centre, mapped through the box, lands on the pixel it shows."""
    rows, cols = np.mgrid[0:S, 0:S]
    u, v = (cols + 0.5) / S, (rows + 0.5) / S
    x = (box[0] + u * (box[2] - box[0])) * W - 0.5  # original pixel-centre coordinates
    y = (box[1] + v * (box[3] - box[1])) * H - 0.5
    # Up-sampled nearest-neighbour crops are off by at most one original pixel.
    assert np.abs(view[..., 0] - x).max() <= 1.0
    assert np.abs(view[..., 1] - y).max() <= 1.0


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_known_pixels_map_back_through_crop_and_flip(seed):
    torch.manual_seed(seed)
    crop = RandomResizedCropWithBox(S, scale=(0.1, 0.3), interpolation='nearest')
    results = crop(dict(img=coordinate_image()))
    box = results['view_box']
    assert box[0] < box[2] and box[1] < box[3]
    assert_view_maps_back(results['img'], box)

    for direction, swap in (('horizontal', [2, 1, 0, 3]), ('vertical', [0, 3, 2, 1])):
        flipped = RandomFlipWithBox(prob=1.0, direction=direction)(dict(results))
        assert np.array_equal(flipped['view_box'], box[swap])
        assert_view_maps_back(flipped['img'], flipped['view_box'])
    # The pixel at view (0, 0) after a horizontal flip is the crop's top-right pixel.
    hflip = RandomFlipWithBox(prob=1.0, direction='horizontal')(dict(results))
    assert hflip['img'][0, 0, 0] == results['img'][0, -1, 0]
    assert abs(hflip['view_box'][0] * W - 0.5 - hflip['img'][0, 0, 0]) <= 1.5


def test_byol_views_pack_and_preprocess_to_per_view_boxes():
    cfg = Config.fromfile(REPO / 'configs' / '_base_' / 'datasets' / 'demo_byol.py')
    multi = cfg.train_pipeline[1]
    assert multi.num_views == [1, 1]
    blur = [[t for t in p if t.type == 'RandomApply' and t.transforms[0].type == 'GaussianBlur']
            for p in multi.transforms]
    solarize = [[t for t in p if t.type == 'RandomApply' and t.transforms[0].type == 'Solarize']
                for p in multi.transforms]
    assert [b[0].prob for b in blur] == [1.0, 0.1]
    assert [len(s) for s in solarize] == [0, 1] and solarize[1][0].prob == 0.2
    assert all(p[0].scale == (0.08, 1.) for p in multi.transforms)

    torch.manual_seed(0)
    pipeline = [MultiView(**{k: v for k, v in multi.items() if k != 'type'}),
                PackSelfSupInputs(meta_keys=[])]
    samples = []
    for i in range(3):
        results = dict(img=np.random.default_rng(i).integers(0, 256, (H, W, 3), dtype=np.uint8))
        for t in pipeline:
            results = t(results)
        samples.append(results)
    assert samples[0]['data_samples'].view_boxes.shape == (2, 4)
    data = SelfSupDataPreprocessor()(pseudo_collate(samples))
    boxes = stack_view_boxes(data['data_samples'], 2)
    assert [tuple(b.shape) for b in boxes] == [(3, 4), (3, 4)]
    assert torch.equal(boxes[1][2], samples[2]['data_samples'].view_boxes[1])
    assert len(data['inputs']) == 2 and data['inputs'][0].shape == (3, 3, 96, 96)
