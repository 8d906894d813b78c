"""The dense-correspondence probe: its geometry on hand-built boxes and features (each case's
accuracy worked out by hand), the view sampler's boxes against the pixels it cuts, its
determinism, the command line on a tools/train.py checkpoint and a random-init ResNet-18, and
that probing a backbone in training leaves it exactly as it was."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.backbones import ResNet
from torch import nn

from mmdense.datasets.demo.scenes import generate_demo_data
from mmdense.evaluation.correspondence import (CorrespondenceProbe, ViewPair,
                                               correspondence_accuracy, main, resnet_stage_features,
                                               sample_view_pairs, score_matches)
from mmdense.evaluation.frozen_backbone import build_frozen_resnet, load_backbone_state
from mmdense.models.utils.view_geometry import cell_centres
from mmdense.utils.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'benchmarks' / 'correspondence.py'
GRID = (4, 4)
PERIOD = 1024.0  # positional-encoding period, well above any coordinate used here


def one_hot_cells(box: np.ndarray, grid=GRID) -> torch.Tensor:
    """Features that name the view cell: channel k is 1 on cell k (row-major)."""
    h, w = grid
    return torch.eye(h * w).view(h * w, h, w)


def positional(box: np.ndarray, grid=GRID) -> torch.Tensor:
    """Features of the original-image position of each cell centre (cos/sin of x and y)."""
    centres = cell_centres(torch.tensor(box, dtype=torch.float64)[None], *grid)[0]  # (Q, 2)
    return _encode(centres[:, 0], centres[:, 1]).t().reshape(4, *grid)


def _encode(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    angle_x, angle_y = 2 * math.pi * x / PERIOD, 2 * math.pi * y / PERIOD
    return torch.stack([angle_x.cos(), angle_x.sin(), angle_y.cos(), angle_y.sin()], dim=-1)


def hand_pairs(*boxes):
    """ViewPairs with placeholder views; the features below look the box up by the view."""
    return [ViewPair(np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8),
                     np.array(b1, np.float64), np.array(b2, np.float64), i)
            for i, (b1, b2) in enumerate(boxes)]


def box_features(pairs, encoder):
    """A features_fn that gives each view ``encoder(its box)`` (found by the view object)."""
    boxes = {id(view): box for p in pairs for view, box in ((p.view1, p.box1),
                                                            (p.view2, p.box2))}
    return lambda views: {'res4': torch.stack([encoder(boxes[id(v)]) for v in views])}


VIEW1 = (0, 0, 64, 64)  # 4 x 4 cells of 16 px, diagonal 22.6 px


# Chance: a key within one diagonal differs by at most one cell per axis (for equal cells), so
# a query has (key rows within reach) x (key columns within reach) of the 16 keys.
@pytest.mark.parametrize('box2, index_accuracy, counted, chance', [
    # Identical views: cell k of view 2 is cell k of view 1. Chance: rows and columns in
    # reach sum to 2 + 3 + 3 + 2 = 10 each, 100 of 16 x 16.
    (VIEW1, 100.0, 16, 100 * 100 / 256),
    # View 2 is x in [16, 80] flipped; query columns 1-3 (centres x = 24, 40, 56) lie in it.
    # Same-index key centres x = 72 - 16j: 56, 40, 24, so only column 2 lands (distance 0,
    # the others 32 px = 1.41 diagonals): 4 of 12. Chance: 10 x (2 + 3 + 3) of 12 x 16.
    ((80, 0, 16, 64), 100 * 4 / 12, 12, 100 * 80 / 192),
    # View 2 shifted by two cells: columns 2-3 count, same-index keys are 32 px off: 0 of 8.
    # Chance: 10 x (2 + 3) of 8 x 16.
    ((32, 0, 96, 64), 0.0, 8, 100 * 50 / 128),
    # View 2 twice the size (cells 32 px, diagonal 45.25 px, the larger one used): same-index
    # key centres are off by (8 + 16j, 8 + 16i), within 45.25 px for (i, j) in {(0, 0),
    # (0, 1), (1, 0), (1, 1), (0, 2), (2, 0)}: 6 of 16 (with view 1's diagonal only 1).
    # Chance: per-axis offsets {8, 40}, {8, 24}, {8, 24, 40} x 2 for the four query
    # positions, pairs with dx^2 + dy^2 <= 2048 counted: 73 of 256.
    ((0, 0, 128, 128), 100 * 6 / 16, 16, 100 * 73 / 256),
])
def test_accuracy_by_hand(box2, index_accuracy, counted, chance):
    pairs = hand_pairs((VIEW1, box2))
    # Features of the original-image position always match the right place.
    by_position = correspondence_accuracy(box_features(pairs, positional), pairs, ('res4', ))
    assert by_position['corr_res4'] == 100.0 and by_position['num_queries_res4'] == counted
    # Features of the view cell match the same cell of the other view: the same-cell prior.
    by_index = correspondence_accuracy(box_features(pairs, one_hot_cells), pairs, ('res4', ))
    assert by_index['num_queries_res4'] == counted
    assert by_index['corr_res4'] == pytest.approx(index_accuracy)
    for results in (by_position, by_index):  # the feature-free levels do not see features
        assert results['same_cell_res4'] == pytest.approx(index_accuracy)
        assert results['chance_res4'] == pytest.approx(chance)


def test_counts_and_masks_per_cell():
    # Cells outside view 2 are neither right nor wrong; a view 2 beside view 1 counts none.
    query = one_hot_cells(None)[None]
    correct, counted = score_matches(query, query, torch.tensor([VIEW1], dtype=torch.float64),
                                     torch.tensor([(80, 0, 16, 64)], dtype=torch.float64))
    assert counted.view(GRID).tolist() == [[False, True, True, True]] * 4
    assert (correct & counted).view(GRID).tolist() == [[False, False, True, False]] * 4
    pairs = hand_pairs((VIEW1, VIEW1), (VIEW1, (100, 0, 164, 64)))
    results = correspondence_accuracy(box_features(pairs, one_hot_cells), pairs, ('res4', ),
                                      batch_size=1)
    assert results['corr_res4'] == 100.0 and results['num_queries_res4'] == 16
    with pytest.raises(ValueError, match='equal N and C'):
        score_matches(query, query[:, :8], torch.zeros(1, 4), torch.zeros(1, 4))


def ramp_image(height: int, width: int) -> np.ndarray:
    """Channel 0 holds the column x, channel 1 the row y (BGR uint8, width/height <= 256)."""
    ys, xs = np.mgrid[:height, :width]
    return np.stack([xs, ys, np.full_like(xs, 128)], axis=-1).astype(np.uint8)


def ramp_positions(views) -> dict:
    """res4-like features (16 px cells) that read the original position off a ramp view."""
    batch = torch.from_numpy(np.stack(views)).permute(0, 3, 1, 2).double()
    cells = F.avg_pool2d(batch, 16)  # (B, 3, h, w): a linear ramp averages to its centre value
    # Pixel k holds value k and has its centre at k + 0.5.
    return {'res4': _encode(cells[:, 0] + 0.5, cells[:, 1] + 0.5).permute(0, 3, 1, 2)}


def test_sampled_boxes_say_where_the_view_pixels_come_from():
    images = [ramp_image(192, 256), ramp_image(256, 256)]
    pairs = sample_view_pairs(images, num_pairs_per_image=8, view_size=64, scale=(0.2, 1.0))
    assert len(pairs) == 16 and [p.image_index for p in pairs[7:9]] == [0, 1]
    flipped = [box[0] > box[2] for p in pairs for box in (p.box1, p.box2)]
    assert any(flipped) and not all(flipped)
    centres = (np.arange(64) + 0.5) / 64
    for p in pairs:
        for view, (x1, y1, x2, y2) in ((p.view1, p.box1), (p.view2, p.box2)):
            assert view.shape == (64, 64, 3) and view.dtype == np.uint8
            height, width = images[p.image_index].shape[:2]
            assert 0 <= min(x1, x2) < max(x1, x2) <= width
            assert 0 <= min(y1, y2) < max(y1, y2) <= height
            expected_x = np.clip(x1 + centres * (x2 - x1) - 0.5, 0, 255)
            expected_y = np.clip(y1 + centres * (y2 - y1) - 0.5, 0, 255)
            assert np.abs(view[:, :, 0] - expected_x[None, :]).max() <= 1.0
            assert np.abs(view[:, :, 1] - expected_y[:, None]).max() <= 1.0
    # Features of the original position read off the pixels: every counted match right, so the
    # boxes (flips included) and the cell geometry agree with the views.
    results = correspondence_accuracy(ramp_positions, pairs, ('res4', ), batch_size=5)
    assert results['corr_res4'] == 100.0 and results['num_queries_res4'] > 100


def test_same_seed_same_pairs_and_numbers(tmp_path):
    images = [ramp_image(96, 128)] * 3
    first, again = (sample_view_pairs(images, 2, 64, seed=3) for _ in range(2))
    other = sample_view_pairs(images, 2, 64, seed=4)
    assert all(np.array_equal(a.box1, b.box1) and np.array_equal(a.box2, b.box2)
               and np.array_equal(a.view1, b.view1) and np.array_equal(a.view2, b.view2)
               for a, b in zip(first, again))
    assert not all(np.array_equal(a.box1, b.box1) for a, b in zip(first, other))
    root = generate_demo_data(str(tmp_path / 'demo'), num_images=4, image_size=64)
    torch.manual_seed(0)
    backbone = ResNet(18, out_indices=(2, 3))
    backbone.eval()  # mmdet's ResNet.train() returns None: no chaining
    probes = [CorrespondenceProbe(root, num_images=4, view_size=64, seed=s) for s in (0, 0, 1)]
    assert len(probes[0].pairs) == 4
    results = [probe.evaluate(backbone) for probe in probes]
    assert results[0] == results[1]
    assert not all(np.array_equal(a.box1, b.box1)
                   for a, b in zip(probes[0].pairs, probes[2].pairs))
    assert results[0] != results[2]


def _start_cli(checkpoint, images, out) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(TOOL), '--checkpoint', str(checkpoint), '--images', str(images),
         '--num-images', '4', '--view-size', '64', '--device', 'cpu', '--out', str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_cli_on_training_checkpoint_and_random_init(pretrain_checkpoint, tmp_path):
    images = generate_demo_data(str(tmp_path / 'demo'), num_images=4, image_size=96)
    torch.manual_seed(0)
    random_file = tmp_path / 'random_r18.pth'
    torch.save(ResNet(18, zero_init_residual=False).state_dict(), random_file)
    checkpoints = dict(trained=pretrain_checkpoint, random=random_file)
    # Both at once: most of each run is the interpreter importing torch and mmdet.
    procs = {name: _start_cli(ckpt, images, tmp_path / f'{name}.json')
             for name, ckpt in checkpoints.items()}
    records = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        line, = stdout.strip().splitlines()
        assert line.startswith('dense correspondence over 4 view pairs of 4 images (64 px): '
                               'res4 ')
        record = records[name] = json.loads((tmp_path / f'{name}.json').read_text())
        assert record['pretrain'] == str(checkpoints[name]) and record['num_images'] == 4
        for stage, cells in (('res4', 16), ('res5', 4)):
            assert 0.0 <= record[f'corr_{stage}'] <= 100.0
            assert 0 < record[f'num_queries_{stage}'] <= 4 * cells
            assert f'{stage} {record[f"corr_{stage}"]:.2f}% of' in line
    # Same views for both; the numbers are the in-process probe's.
    assert records['trained']['num_queries_res4'] == records['random']['num_queries_res4']
    backbone = build_frozen_resnet(load_backbone_state(str(pretrain_checkpoint)), (2, 3))
    probe = CorrespondenceProbe(images, num_images=4, view_size=64)
    results = probe.evaluate(backbone)
    assert set(results) == {f'{key}_{stage}' for stage in ('res4', 'res5')
                            for key in ('corr', 'num_queries', 'same_cell', 'chance')}
    assert results == {key: records['trained'][key] for key in results}


@pytest.mark.parametrize('kind', ['missing folder', 'no images', 'missing checkpoint'])
def test_bad_input_exits_2_naming_the_path(kind, tmp_path, capsys):
    empty = tmp_path / 'empty'
    (empty / 'sub').mkdir(parents=True)
    (empty / 'sub' / 'notes.txt').write_text('not an image')
    (empty / '.hidden.png').write_bytes(b'')
    folder = {'missing folder': tmp_path / 'nowhere', 'no images': empty}.get(kind)
    if folder is None:
        folder = Path(generate_demo_data(str(tmp_path / 'demo'), num_images=4, image_size=32))
    checkpoint = tmp_path / 'absent.pth'
    named = str(checkpoint) if kind == 'missing checkpoint' else str(folder)
    argv = ['--checkpoint', str(checkpoint), '--images', str(folder), '--view-size', '32']
    assert run_cli(lambda: main(argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ') and named in err[0], err


class Wrapper(nn.Module):
    """Keeps the model in ``.module``, as (MM)DistributedDataParallel does."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module


def test_probe_leaves_a_training_backbone_as_it_was(tmp_path):
    root = generate_demo_data(str(tmp_path / 'demo'), num_images=4, image_size=64)
    probe = CorrespondenceProbe(root, num_images=4, view_size=64)
    torch.manual_seed(0)
    # As in pre-training: BN training, out_indices only res5; one frozen stage for mixed modes.
    model = ResNet(18, out_indices=(3, ), norm_eval=False, frozen_stages=1)
    model.train()
    modes = {name: m.training for name, m in model.named_modules()}
    grads = {name: p.requires_grad for name, p in model.named_parameters()}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert not modes['layer1'] and modes['layer2'] and not grads['layer1.0.conv1.weight']

    results = probe(Wrapper(model))
    assert set(results) == {'corr_res4', 'corr_res5'}
    assert all(0.0 <= v <= 100.0 for v in results.values())
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert {name: p.requires_grad for name, p in model.named_parameters()} == grads
    # BN ran on its running statistics and did not update them.
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters()) and model.out_indices == (3, )

    # The same numbers in eval mode, and through forward when out_indices cover res4/res5.
    model.eval()
    assert probe(model) == results
    covered = ResNet(18, out_indices=(0, 2, 3))
    covered.load_state_dict(model.state_dict())
    covered.eval()
    assert probe(covered) == results
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        direct = resnet_stage_features(model, images, (2, 3))
        through_forward = resnet_stage_features(covered, images, (3, 2))
    assert [t.shape[-1] for t in direct] == [4, 2]
    assert torch.equal(direct[0], through_forward[1]) and torch.equal(direct[1],
                                                                      through_forward[0])
