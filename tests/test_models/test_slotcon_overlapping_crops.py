"""SlotCon's crop pair (mmdense.datasets.transforms.overlapping_crops): the second crop covers
at least 1% of its area of the first, and the views record the planned windows."""
import mmcv
import numpy as np
import pytest
import torch

from mmdense.datasets.transforms import MultiView, PlannedResizedCropWithBox, SampleOverlappingCrops
from mmdense.datasets.transforms.overlapping_crops import _intersection

H, W = 90, 140


def _plans(min_overlap, n=300):
    torch.manual_seed(0)
    sampler = SampleOverlappingCrops(scale=(0.08, 1.), min_overlap=min_overlap)
    img = np.zeros((H, W, 3), np.uint8)
    return [sampler({'img': img})['crop_plan'] for _ in range(n)]


def test_second_crop_overlaps_the_first_by_one_percent_of_its_area():
    conditioned = _plans(0.01)
    free = _plans(0.0)
    fractions = [_intersection(p[0], p[1]) / (p[1][2] * p[1][3]) for p in conditioned]
    # The authors compare with the target area before rounding the sides: allow that rounding.
    assert min(fractions) >= 0.0095
    for plan in conditioned:
        top, left, h, w = plan[1]
        assert 0 <= top and top + h <= H and 0 <= left and left + w <= W
    # Unconditioned pairs of (0.08, 1) crops are sometimes disjoint (12 of these 300 seeded
    # draws): the condition is what removes them.
    disjoint = sum(_intersection(p[0], p[1]) == 0 for p in free)
    assert disjoint >= 10


def test_views_cut_the_planned_windows_and_record_their_boxes():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    plan = np.array([[10, 20, 50, 70], [30, 40, 60, 90]], np.int64)
    views = MultiView(num_views=[1, 1], transforms=[
        [dict(type='PlannedResizedCropWithBox', size=32, view_index=0, interpolation='bicubic'),
         dict(type='RandomFlipWithBox', prob=1.0, direction='horizontal')],
        [dict(type='PlannedResizedCropWithBox', size=32, view_index=1, interpolation='bicubic')],
    ])
    out = views({'img': img, 'crop_plan': plan})
    (t0, l0, h0, w0), (t1, l1, h1, w1) = plan
    box0 = [(l0 + w0) / W, t0 / H, l0 / W, (t0 + h0) / H]  # flipped: x corners swapped
    box1 = [l1 / W, t1 / H, (l1 + w1) / W, (t1 + h1) / H]
    np.testing.assert_allclose(out['view_box'][0], box0, rtol=1e-6)
    np.testing.assert_allclose(out['view_box'][1], box1, rtol=1e-6)
    crop1 = mmcv.imresize(img[t1:t1 + h1, l1:l1 + w1], (32, 32), interpolation='bicubic')
    np.testing.assert_array_equal(out['img'][1], crop1)
    crop0 = mmcv.imresize(img[t0:t0 + h0, l0:l0 + w0], (32, 32), interpolation='bicubic')
    np.testing.assert_array_equal(out['img'][0], crop0[:, ::-1])


def test_planned_crop_without_a_plan_says_what_to_add():
    crop = PlannedResizedCropWithBox(32, view_index=1)
    with pytest.raises(KeyError, match='SampleOverlappingCrops before MultiView'):
        crop({'img': np.zeros((H, W, 3), np.uint8)})
