"""The DAVIS benchmark end to end on synthetic data in DAVIS's layout: the generator, the
command line (propagation from a real tools/train.py checkpoint, and scoring of a results
folder), and its one-line errors."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmdense.datasets.demo.davis import generate_davis_demo_data
from mmdense.evaluation.davis_benchmark import build_config, main, resize_short_side
from mmdense.evaluation.davis_io import davis_palette, write_label_png
from mmdense.transfer.benchmark_results import summarise_work_dir
from mmdense.utils.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'benchmarks' / 'davis' / 'label_propagation.py'


@pytest.fixture(scope='module')
def davis_root(tmp_path_factory) -> Path:
    return Path(generate_davis_demo_data(str(tmp_path_factory.mktemp('davis'))))


def _sequences(root, split='val'):
    return (root / 'ImageSets' / '2017' / f'{split}.txt').read_text().split()


def _annotations(root, sequence):
    return sorted((root / 'Annotations' / '480p' / sequence).glob('*.png'))


def _labels(path):
    return np.array(Image.open(path))


def test_synthetic_davis_has_the_davis_layout(davis_root):
    assert davis_root.name == 'DAVIS'
    assert len(_sequences(davis_root, 'train')) == len(_sequences(davis_root, 'val')) == 2
    for sequence in _sequences(davis_root, 'train') + _sequences(davis_root, 'val'):
        frames = sorted((davis_root / 'JPEGImages' / '480p' / sequence).glob('*.jpg'))
        annotations = _annotations(davis_root, sequence)
        names = [f'{i:05d}' for i in range(8)]
        assert [p.stem for p in frames] == [p.stem for p in annotations] == names
        with Image.open(frames[0]) as frame:
            assert (frame.format, frame.mode, frame.size) == ('JPEG', 'RGB', (96, 64))
        labels = []
        for path in annotations:
            with Image.open(path) as image:
                assert (image.format, image.mode, image.size) == ('PNG', 'P', (96, 64))
                assert image.getpalette()[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0]
                labels.append(np.array(image))
        # 1..K objects, all in frame 0 (K is the largest id there), and they move.
        num_objects = int(labels[0].max())
        assert 1 <= num_objects <= 3
        assert set(np.unique(labels[0])) == set(range(num_objects + 1))
        assert max(int(x.max()) for x in labels) == num_objects
        assert not np.array_equal(labels[0], labels[-1])


def test_davis_palette_is_the_voc_colour_map():
    palette = davis_palette()
    assert palette.shape == (256, 3)
    assert palette[:5].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                                    [0, 0, 128]]
    assert palette[255].tolist() == [224, 224, 192]


def test_synthetic_davis_is_deterministic_and_stamped(davis_root, tmp_path):
    again = Path(generate_davis_demo_data(str(tmp_path)))
    files = sorted(p.relative_to(davis_root) for p in davis_root.rglob('*') if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob('*') if p.is_file())
    assert all((davis_root / f).read_bytes() == (again / f).read_bytes() for f in files)
    assert generate_davis_demo_data(str(tmp_path)) == str(again)
    with pytest.raises(FileExistsError, match='other generated data'):
        generate_davis_demo_data(str(tmp_path), num_frames=5)


def test_cli_propagates_writes_results_and_scores(davis_root, pretrain_checkpoint, tmp_path):
    out = tmp_path / 'results'
    proc = subprocess.run([
        sys.executable, str(SCRIPT), '--davis-root', str(davis_root), '--checkpoint',
        str(pretrain_checkpoint), '--out', str(out), '--short-side', '48', '--device', 'cpu'
    ], capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for sequence in _sequences(davis_root):
        annotations = _annotations(davis_root, sequence)
        written = sorted((out / sequence).iterdir())
        assert [p.name for p in written] == [p.name for p in annotations]
        num_objects = int(_labels(annotations[0]).max())
        for path, truth in zip(written, annotations):
            with Image.open(path) as image:
                assert image.mode == 'P' and image.size == (96, 64)
                assert image.getpalette()[:768] == davis_palette().flatten().tolist()
                assert np.array(image).max() <= num_objects
        np.testing.assert_array_equal(_labels(written[0]), _labels(annotations[0]))
        assert sequence in proc.stdout
    results = json.loads((out / 'results.json').read_text())
    assert results['settings']['short_side'] == 48 and results['variant'] == 'vfs'
    assert results['pretrain'] == str(pretrain_checkpoint)
    # What tools/benchmarks/collect_results.py makes of the results folder.
    row = summarise_work_dir(str(out))
    assert row['task'] == 'davis' and row['config'] == 'label-propagation-vfs_davis2017-val'
    assert row['J&F'] == f'{results["JF"] * 100:.1f}'
    assert results['settings']['radius'] == 18.0 and results['settings']['context'] == 20
    assert set(results['sequences']) == set(_sequences(davis_root))
    values = [results['J'], results['F'], results['JF']] + list(results['summary'].values())
    assert all(0 <= v <= 1 for v in values[:3]) and all(np.isfinite(values))
    for sequence in results['sequences'].values():
        assert len(sequence['objects']) == sequence['num_objects']
        for obj in sequence['objects'].values():
            assert 0 <= obj['J']['mean'] <= 1 and 0 <= obj['F']['mean'] <= 1
    assert results['JF'] == pytest.approx((results['J'] + results['F']) / 2)


def _copy_ground_truth(davis_root, tmp_path):
    predictions = tmp_path / 'predictions'
    shutil.copytree(davis_root / 'Annotations' / '480p', predictions)
    return predictions


def test_ground_truth_as_predictions_scores_one(davis_root, tmp_path, capsys):
    predictions = _copy_ground_truth(davis_root, tmp_path)
    results = main(['--davis-root', str(davis_root), '--predictions', str(predictions)])
    assert results['J'] == results['F'] == results['JF'] == 1.0
    assert results['summary']['J-Recall'] == results['summary']['F-Recall'] == 1.0
    assert results['summary']['J-Decay'] == results['summary']['F-Decay'] == 0.0
    assert json.loads((predictions / 'results.json').read_text())['JF'] == 1.0
    printed = capsys.readouterr().out
    assert all(sequence in printed for sequence in _sequences(davis_root))
    assert 'J&F-Mean' in printed


def test_background_predictions_score_the_hand_known_values(davis_root, tmp_path):
    predictions = tmp_path / 'background'
    expected = []  # per object: share of evaluated frames (1..T-2) it is absent from
    for sequence in _sequences(davis_root):
        annotations = _annotations(davis_root, sequence)
        gt = np.stack([_labels(p) for p in annotations])
        for path in annotations:
            write_label_png(str(predictions / sequence / path.name), np.zeros(gt.shape[1:]))
        for obj in range(1, int(gt[0].max()) + 1):
            # An empty prediction scores J = F = 1 where the object is absent, else 0.
            expected.append(np.mean([not (g == obj).any() for g in gt[1:-1]]))
    results_file = tmp_path / 'scores' / 'bg.json'
    results = main(['--davis-root', str(davis_root), '--predictions', str(predictions),
                    '--results', str(results_file)])
    assert results['J'] == results['F'] == pytest.approx(np.mean(expected))
    assert results['J'] == 0.0  # every synthetic object stays in view
    assert results['summary']['J-Recall'] == 0.0 and results['summary']['J-Decay'] == 0.0
    assert json.loads(results_file.read_text())['F'] == results['F']
    assert not (predictions / 'results.json').exists()


def _break(kind, davis_root, tmp_path):
    """Arguments of one mistake and the path its message must name."""
    root, seq = str(davis_root), _sequences(davis_root)[0]
    predictions = _copy_ground_truth(davis_root, tmp_path)
    evaluate = ['--davis-root', root, '--predictions', str(predictions)]
    if kind == 'no root':
        return ['--davis-root', str(tmp_path / 'nowhere'), '--predictions', '.'], 'nowhere'
    if kind == 'no split file':
        return evaluate + ['--split', 'test-dev'], 'ImageSets/2017/test-dev.txt'
    if kind == 'no sequence':
        return evaluate + ['--sequences', 'nope'], 'Annotations/480p/nope'
    if kind == 'results lack a sequence':
        shutil.rmtree(predictions / seq)
        return evaluate, f'{predictions / seq}'
    if kind == 'results lack a frame':
        (predictions / seq / '00003.png').unlink()
        return evaluate, f'{predictions / seq / "00003.png"}'
    if kind == 'wrong size':
        write_label_png(str(predictions / seq / '00002.png'), np.zeros((32, 48)))
        return evaluate, f'{predictions / seq / "00002.png"}'
    if kind == 'rgb results':
        Image.new('RGB', (96, 64)).save(predictions / seq / '00001.png')
        return evaluate, f'{predictions / seq / "00001.png"}'
    if kind == 'unknown id':
        write_label_png(str(predictions / seq / '00001.png'), np.full((64, 96), 9))
        return evaluate, seq
    if kind == 'no checkpoint':
        return ['--davis-root', root, '--checkpoint', str(tmp_path / 'no.pth'), '--out',
                str(tmp_path / 'o')], 'no.pth'
    assert kind == 'no out'
    return ['--davis-root', root, '--checkpoint', 'x.pth'], '--out'


@pytest.mark.parametrize('kind', [
    'no root', 'no split file', 'no sequence', 'results lack a sequence',
    'results lack a frame', 'wrong size', 'rgb results', 'unknown id', 'no checkpoint', 'no out'
])
def test_mistakes_exit_2_with_one_line_naming_the_path(kind, davis_root, tmp_path, capsys):
    # run_cli(main) is what the wrapper passes to sys.exit (its success path runs above).
    argv, named = _break(kind, davis_root, tmp_path)
    assert run_cli(lambda: main(argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ') and named in err[0], err


def test_resize_short_side_keeps_the_aspect_like_mmcv():
    image = np.zeros((64, 96, 3), np.uint8)
    assert resize_short_side(image, 48).shape == (48, 72, 3)
    assert resize_short_side(image, 45).shape == (45, 68, 3)  # 67.5 rounds up
    assert resize_short_side(image, None) is image


def test_variants_and_overrides():
    assert build_config('vfs') == build_config('vfs', context=None, topk=None)
    crw = build_config('crw', topk=5, radius=None)
    assert (crw.topk, crw.radius, crw.temperature, crw.window) == (5, None, 0.05, 'crw')
    assert build_config('vfs', short_side=None).short_side is None
