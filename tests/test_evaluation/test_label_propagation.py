"""Label propagation on clips whose answer is known, built from hand-made features.

The frames are indices into a list of feature maps, so every affinity is chosen: cells
hold unit vectors (one-hot "appearances"), a cosine is 1 for the same appearance and 0
otherwise. Label maps are on the feature grid, so no resizing blurs the answer.
"""
import dataclasses

import numpy as np
import pytest
import torch

from mmdense.evaluation.label_propagation import (CRW, VFS_RESNET, PropagationConfig,
                                                  propagate_labels)

BACKGROUND = 0  # the shared background appearance


def _clip(appearances, channels):
    """Feature maps (C, h, w) from integer appearance maps (T, h, w)."""
    feats = torch.nn.functional.one_hot(torch.as_tensor(appearances).long(), channels)
    return feats.permute(0, 3, 1, 2).float()


def _propagate(feats, first_labels, config, **kwargs):
    return propagate_labels(list(range(len(feats))), np.asarray(first_labels, np.uint8),
                            lambda t: feats[t], config, **kwargs)


def _moving_objects(num_frames=6, h=8, w=12):
    """Two objects of unique part appearances moving one cell a frame in opposite
    directions over a shared background; returns appearances and true labels."""
    appearance = np.zeros((num_frames, h, w), np.int64)
    labels = np.zeros((num_frames, h, w), np.uint8)
    for t in range(num_frames):
        # Object 1: 2 x 3 parts (appearances 1..6) moving right from column 1.
        appearance[t, 1:3, 1 + t:4 + t] = np.arange(1, 7).reshape(2, 3)
        labels[t, 1:3, 1 + t:4 + t] = 1
        # Object 2: 2 x 2 parts (7..10) moving left from column 9, lower rows.
        appearance[t, 5:7, 9 - t:11 - t] = np.arange(7, 11).reshape(2, 2)
        labels[t, 5:7, 9 - t:11 - t] = 2
    return appearance, labels


@pytest.mark.parametrize('config', [VFS_RESNET, CRW], ids=['vfs', 'crw'])
def test_moving_objects_are_tracked_exactly(config):
    appearance, labels = _moving_objects()
    outputs = _propagate(_clip(appearance, 11), labels[0], config)
    assert len(outputs) == len(labels)
    for t, (out, truth) in enumerate(zip(outputs, labels)):
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, truth, err_msg=f'frame {t}')


def test_outputs_at_another_size_and_void_as_background():
    appearance, labels = _moving_objects(num_frames=3)
    first = np.kron(labels[0], np.ones((4, 4), np.uint8))  # labels at 4x the grid
    first[0, 0] = 255  # a void pixel in the background
    outputs = _propagate(_clip(appearance, 11), first, VFS_RESNET, output_size=(32, 48))
    assert [o.shape for o in outputs] == [(32, 48)] * 3
    np.testing.assert_array_equal(outputs[0], first)
    # Bilinear upsampling keeps each cell's own label near its centre.
    np.testing.assert_array_equal(outputs[2][2::4, 2::4], labels[2])


@pytest.mark.parametrize('mode, expected', [('nearest', 1), ('bilinear', 0)])
def test_first_labels_onto_the_grid(mode, expected):
    # An 8 x 8 first frame on a 2 x 2 grid; object 1 is pixels (2..3, 2..3). PIL's nearest
    # (VFS) samples pixel (2, 2) for cell (0, 0): object 1. Bilinear (CRW's cv2.resize)
    # averages pixels (1..2, 1..2): a quarter object, so background wins the argmax.
    first = np.zeros((8, 8), np.uint8)
    first[2:4, 2:4] = 1
    feats = _clip(np.tile(np.arange(4).reshape(2, 2), (2, 1, 1)), 4)
    config = PropagationConfig(context=0, topk=1, radius=None, short_side=None,
                               normalise=False, label_resize=mode)
    assert _propagate(feats, first, config)[1][1, 1] == expected


def _radius_scene(rows=3):
    """Appearance A (1) is object 1 at (rows // 2, 0) and background at (0, 9) and
    (rows - 1, 9) in frame 0; frame 1 shows A in column 1 (every row), frame 2 at
    (rows // 2, 5) only, 5 cells from object 1's frame-0 cell, closer to the others."""
    middle = rows // 2
    appearance = np.zeros((3, rows, 12), np.int64)
    appearance[0, middle, 0] = appearance[0, 0, 9] = appearance[0, rows - 1, 9] = 1
    appearance[1, :, 1] = 1
    appearance[2, middle, 5] = 1
    first = np.zeros((rows, 12), np.uint8)
    first[middle, 0] = 1
    return _clip(appearance, 2), first


# Ties are resolved by counting: with a tiny temperature the weights spread evenly over
# the context cells of the highest similarity among the top-k.
TIES = PropagationConfig(topk=7, temperature=1e-3, radius=5.0, short_side=None,
                         normalise=False, window='distinct')


def test_radius_keeps_far_lookalikes_out():
    feats, first = _radius_scene()
    # Frame 1's A cells are within 5 cells of object 1's A only: object 1.
    assert (_propagate(feats, first, TIES)[1][:, 1] == 1).all()
    # Unrestricted, the two far background A cells outvote it.
    free = dataclasses.replace(TIES, radius=None)
    assert (_propagate(feats, first, free)[1][:, 1] == 0).all()


def test_radius_is_strict_as_in_vfs_and_crw():
    # Object 1's appearance moves exactly 5 cells: out of reach at radius 5 (both
    # references keep distances below the radius), in reach just above it.
    appearance = np.zeros((2, 1, 8), np.int64)
    appearance[0, 0, 0] = appearance[1, 0, 5] = 1
    first = (appearance[0] == 1).astype(np.uint8)
    feats = _clip(appearance, 2)
    assert _propagate(feats, first, TIES)[1][0, 5] == 0
    assert _propagate(feats, first, dataclasses.replace(TIES, radius=5.01))[1][0, 5] == 1


def test_window_of_previous_frames():
    feats, first = _radius_scene()
    # Frame 2 at (1, 5): object 1 has 3 A cells in frame 1, background 2 in frame 0.
    distinct = _propagate(feats, first, TIES)
    assert distinct[2][1, 5] == 1  # frame 0 once: 3 votes to 2
    # VFS's window still holds frame 0 at t = 2 <= context: its 2 cells vote twice.
    vfs = _propagate(feats, first, dataclasses.replace(TIES, window='vfs'))
    assert vfs[2][1, 5] == 0  # 4 votes to 3
    # Once t > context, VFS's window no longer holds frame 0.
    vfs_short = _propagate(feats, first, dataclasses.replace(TIES, window='vfs', context=1))
    assert vfs_short[2][1, 5] == 1
    # CRW pads the window with copies of frame 0: with 5 object cells in frame 1, frame 0
    # twice (VFS) gives 4 background votes to 5, three times (CRW, context 3) 6 to 5.
    feats5, first5 = _radius_scene(rows=5)
    vfs = dataclasses.replace(TIES, window='vfs', context=3, topk=12)
    assert _propagate(feats5, first5, vfs)[2][2, 5] == 1
    assert _propagate(feats5, first5, dataclasses.replace(vfs, window='crw'))[2][2, 5] == 0
    # Normalising each object's soft labels over the frame lifts the weak object 1 (3/7
    # everywhere it is present) back to the top at its best cell.
    vfs_norm = dataclasses.replace(TIES, window='vfs', normalise=True)
    assert _propagate(feats, first, vfs_norm)[2][1, 5] == 1


def _memory_scene(show_at):
    """Appearance Y is object 2 in frame 1 only (from its likeness to frame 0's B); at
    frame ``show_at`` a cell shows Y', closer to Y than to anything, yet closer to the
    background's C than to B: it is object 2 only while frame 1 is in the context."""
    num_frames, channels = show_at + 1, 4
    feats = torch.zeros(num_frames, channels, 2, 4)
    feats[:, 0] = 1  # background appearance everywhere ...
    feats[:, 0, 1, 3], feats[:, 3, 1, 3] = 0, 1  # ... but for object 1, always the same,
    b, c = torch.eye(channels)[1], torch.eye(channels)[2]
    y = 0.8 * b + 0.6 * c  # cos(Y, B) = 0.8, cos(Y, C) = 0.6
    angle = np.deg2rad(55)  # Y': cos with B 0.57, with C 0.82, with Y 0.95
    y_prime = float(np.cos(angle)) * b + float(np.sin(angle)) * c
    for t in range(num_frames):
        feats[t, :, 0, 0] = b  # ... and B (object 2) and C (background) in every frame
        feats[t, :, 0, 3] = c
    feats[1, :, 1, 1] = y
    feats[show_at, :, 1, 1] = y_prime
    first = np.zeros((2, 4), np.uint8)
    first[0, 0] = 2
    first[1, 3] = 1
    return feats, first


@pytest.mark.parametrize('context', [2, 3])
def test_context_keeps_the_first_frame_and_the_last_context_frames(context):
    config = PropagationConfig(context=context, topk=1, radius=None, short_side=None,
                               window='distinct')
    feats, first = _memory_scene(show_at=context + 1)  # frame 1 is still in the window
    out = _propagate(feats, first, config)
    assert out[1][1, 1] == 2 and out[-1][1, 1] == 2
    feats, first = _memory_scene(show_at=context + 2)  # frame 1 has left the window
    out = _propagate(feats, first, config)
    assert out[1][1, 1] == 2 and out[-1][1, 1] == 0
    assert (np.array(out)[:, 1, 3] == 1).all()  # frame 0 stays in the context throughout


def test_topk_and_temperature():
    # The query (frame 1, cell (0, 0)) is object 1's appearance exactly (cos 1) and 0.8
    # like each of 3 background cells.
    feats = torch.zeros(2, 3, 2, 3)
    feats[:, 2] = 1  # other cells: an appearance of their own
    near = torch.tensor([0.8, 0.6, 0.0])
    feats[0, :, 0, 0] = torch.tensor([1.0, 0.0, 0.0])
    feats[0, :, 1, 0] = feats[0, :, 1, 1] = feats[0, :, 1, 2] = near
    feats[1, :, 0, 0] = torch.tensor([1.0, 0.0, 0.0])
    first = np.zeros((2, 3), np.uint8)
    first[0, 0] = 1
    base = PropagationConfig(context=0, radius=None, short_side=None, normalise=False)

    def label(**changes):
        return _propagate(feats, first, dataclasses.replace(base, **changes))[1][0, 0]

    assert label(topk=1, temperature=1.0) == 1
    # Four neighbours at temperature 1: e^1 against 3 e^0.8, the background wins.
    assert label(topk=4, temperature=1.0) == 0
    # At 0.01 the exact match dominates again: e^100 against 3 e^80.
    assert label(topk=4, temperature=0.01) == 1


def test_settings_are_validated():
    with pytest.raises(ValueError, match='window'):
        PropagationConfig(window='all')
    with pytest.raises(ValueError, match='radius'):
        PropagationConfig(radius=0)
    with pytest.raises(ValueError, match='topk'):
        PropagationConfig(topk=0)
    assert (VFS_RESNET.context, VFS_RESNET.topk, VFS_RESNET.temperature,
            VFS_RESNET.radius, VFS_RESNET.short_side) == (20, 10, 0.07, 18.0, 480)
    assert (CRW.radius, CRW.temperature, CRW.short_side, CRW.restrict_first) == (12.0, 0.05,
                                                                                 None, False)


@pytest.mark.parametrize('restrict_first', [True, False])
@pytest.mark.parametrize('radius', [3.0, 3.5, None])
def test_blocks_of_queries_see_every_cell_within_the_radius(radius, restrict_first):
    # Random features: no ties, so scoring in blocks against windows within reach must give
    # what one block over the whole frame gives.
    generator = torch.Generator().manual_seed(0)
    feats = torch.randn(5, 16, 9, 13, generator=generator)
    first = np.random.default_rng(0).integers(0, 4, (9, 13)).astype(np.uint8)
    config = PropagationConfig(context=2, topk=5, temperature=0.1, radius=radius,
                               short_side=None, restrict_first=restrict_first)
    whole = _propagate(feats, first, config, block=13)
    for block in (1, 4):
        for t, (a, b) in enumerate(zip(_propagate(feats, first, config, block=block), whole)):
            np.testing.assert_array_equal(a, b, err_msg=f'block {block}, frame {t}')
