"""DAVIS J and F against hand computations of davis2017-evaluation's definitions."""
import math

import numpy as np
import pytest

from mmdense.evaluation.davis_metrics import (boundary_f_measure, boundary_map, evaluate_objects,
                                              frame_statistics, region_similarity, summarise)

H, W = 240, 320  # diagonal 400 px: tolerance ceil(0.008 * 400) = ceil(3.2) = 4 px
SIDE = 100


def _square(top=60, left=100, side=SIDE, shape=(H, W)):
    mask = np.zeros(shape, bool)
    mask[top:top + side, left:left + side] = True
    return mask


def test_tolerance_is_four_pixels_for_this_size():
    assert math.ceil(0.008 * math.hypot(H, W)) == 4


def test_boundary_map_is_the_outline_shifted_towards_the_origin():
    # The toolkit marks pixels that differ from their right/lower neighbours: for a square
    # of rows/cols [a, b) that is the outline of rows/cols a-1 .. b-1, 4 * side pixels.
    mask = _square(2, 3, 4, (10, 10))
    expected = np.zeros((10, 10), bool)
    expected[1, 2:7] = expected[5, 2:7] = expected[1:6, 2] = expected[1:6, 6] = True
    np.testing.assert_array_equal(boundary_map(mask), expected)
    assert boundary_map(_square()).sum() == 4 * SIDE


@pytest.mark.parametrize('shift', [0, 1, 3, 4])
def test_f_is_one_while_the_shift_is_within_the_tolerance(shift):
    assert boundary_f_measure(_square(), _square(left=100 + shift)) == 1.0


@pytest.mark.parametrize('shift', [5, 6, 8])
def test_f_beyond_the_tolerance_matches_the_hand_count(shift):
    # Shifting the outline right by s > r = 4: of the predicted outline (4n pixels) the top
    # and bottom rows lose s - r pixels each, the left column keeps 2r of its n - 1
    # interior pixels (those within r of the GT's top/bottom rows), the right column none:
    # matched = 4n - 2(s - r) - (n - 1 - 2r) - (n - 1) = 2n - 2s + 4r + 2; recall is the same
    # by symmetry, so F = P = R.
    n, r, s = SIDE, 4, shift
    precision = (2 * n - 2 * s + 4 * r + 2) / (4 * n)
    f_measure = boundary_f_measure(_square(), _square(left=100 + s))
    assert f_measure == pytest.approx(precision, abs=1e-12)
    # A tolerance in pixels (>= 1) is used as is.
    assert boundary_f_measure(_square(), _square(left=100 + s), bound_th=s) == 1.0


def test_region_similarity_by_hand():
    gt, pred = _square(side=10), _square(left=105, side=10)  # overlap 10 x 5
    assert region_similarity(gt, pred) == pytest.approx(50 / 150)
    assert region_similarity(gt, gt) == 1.0


def test_empty_masks_follow_the_toolkit_conventions():
    empty, mask = np.zeros((H, W), bool), _square()
    # Both empty: J = 1 (empty union), F = 1 (P = R = 1).
    assert region_similarity(empty, empty) == 1.0
    assert boundary_f_measure(empty, empty) == 1.0
    # Empty prediction of a present object: J = 0; (P, R) = (1, 0), so F = 0.
    assert region_similarity(mask, empty) == 0.0
    assert boundary_f_measure(mask, empty) == 0.0
    # A prediction of an absent object: J = 0; (P, R) = (0, 1), so F = 0.
    assert region_similarity(empty, mask) == 0.0
    assert boundary_f_measure(empty, mask) == 0.0


def test_void_pixels_are_left_out_when_given():
    gt = _square(side=10)
    pred = gt | _square(left=110, side=10)  # 100 extra pixels, beside the object
    void = _square(left=110, side=10)
    assert region_similarity(gt, pred) == pytest.approx(100 / 200)
    assert region_similarity(gt, pred, void) == 1.0
    assert boundary_f_measure(gt, pred, void) == 1.0


def test_evaluate_objects_counts_void_as_background_like_the_toolkit():
    # The semi-supervised evaluation passes no void mask and zeroes 255 in the annotation.
    gt = np.zeros((3, H, W), np.uint8)
    gt[:, 60:70, 100:110] = 1
    gt[:, 60:70, 110:120] = 255
    pred = np.zeros_like(gt)
    pred[:, 60:70, 100:120] = 1  # the object and the void strip
    (obj, ) = evaluate_objects(gt, pred, 1)
    assert obj['J']['mean'] == pytest.approx(0.5)
    (obj, ) = evaluate_objects(gt, pred, 1, exclude_void=True)
    assert obj['J']['mean'] == 1.0 and obj['F']['mean'] == 1.0


def test_several_objects_are_scored_separately():
    gt = np.zeros((3, H, W), np.uint8)
    gt[:, 60:70, 100:110] = 1
    gt[:, 100:110, 200:210] = 2
    pred = gt.copy()
    pred[pred == 2] = 0  # object 2 missed
    first, second = evaluate_objects(gt, pred, 2)
    assert first['J']['mean'] == first['F']['mean'] == 1.0
    assert second['J']['mean'] == second['F']['mean'] == 0.0


def test_frame_statistics_by_hand():
    values = np.array([1, 1, 0.6, 0.4, 0.5, 0.2, 0, 0])
    stats = frame_statistics(values)
    assert stats['mean'] == pytest.approx(3.7 / 8)
    assert stats['recall'] == pytest.approx(3 / 8)  # 0.5 is not above 0.5
    # Bin edges round(linspace(1, 8, 5)) - 1 = [0, 2, 4, 5, 7]: first bin frames 0..2,
    # last bin frames 5..7; decay = 2.6 / 3 - 0.2 / 3.
    assert stats['decay'] == pytest.approx(0.8)


def test_semi_supervised_drops_the_first_and_last_frame():
    # 10 frames; the prediction is right on frames 1..4 and empty on 0 and 5..9.
    gt = np.zeros((10, 32, 32), np.uint8)
    gt[:, 8:16, 8:16] = 1
    pred = np.zeros_like(gt)
    pred[1:5] = gt[1:5]
    (obj, ) = evaluate_objects(gt, pred, 1)  # frames 1..8: [1, 1, 1, 1, 0, 0, 0, 0]
    assert obj['J'] == dict(mean=0.5, recall=0.5, decay=1.0)
    assert obj['F'] == dict(mean=0.5, recall=0.5, decay=1.0)
    (obj, ) = evaluate_objects(gt, pred, 1, semi_supervised=False)
    assert obj['J']['mean'] == pytest.approx(0.4)


def test_a_prediction_with_an_unknown_id_is_refused():
    gt = np.zeros((3, 8, 8), np.uint8)
    gt[:, :4] = 1
    pred = gt.copy()
    pred[1, 0, 0] = 2
    with pytest.raises(ValueError, match='object id 2'):
        evaluate_objects(gt, pred, 1)
    with pytest.raises(ValueError, match='differ in shape'):
        evaluate_objects(gt, pred[:2], 1)


def _stats(value):
    return dict(mean=value, recall=float(value > 0.5), decay=0.0)


def test_summary_means_are_over_objects_not_sequences():
    per_sequence = {
        'one': [dict(J=_stats(1.0), F=_stats(0.8))],
        'three': [dict(J=_stats(0.0), F=_stats(0.4)) for _ in range(3)],
    }
    summary = summarise(per_sequence)
    assert summary['J-Mean'] == pytest.approx(0.25)  # a mean over sequences would be 0.5
    assert summary['F-Mean'] == pytest.approx((0.8 + 3 * 0.4) / 4)
    assert summary['J-Recall'] == pytest.approx(0.25)
    assert summary['J&F-Mean'] == pytest.approx((0.25 + 0.5) / 2)
    with pytest.raises(ValueError):
        summarise({})
