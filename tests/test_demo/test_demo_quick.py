"""The one-command demo at its ``--quick`` scale, end to end (tools/demo.py --quick).

One module-scoped run (about 40 s on one free core) pre-trains DenseCL and MoCo v2 for
two epochs of two iterations, trains FCN-R18 six times for four iterations (each start
fine-tuned and with its backbone frozen), and writes the table, the JSON and the plot
that the tests below check.
"""
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdense.demo import aggregate_runs, load_scale, main, results_table, similarity_map

ROWS = ('DenseCL', 'MoCo v2', 'Random init')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    threads = torch.get_num_threads()
    # One thread: the test machine's cores are shared, where intra-op threads stall.
    results = main(['--quick', '--threads', '1', '--work-dir', str(root / 'work'),
                    '--data-root', str(root / 'data')])
    assert torch.get_num_threads() == threads  # the demo restores the caller's setting
    return root / 'work', results


def _table_rows(text: str) -> dict:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 7 and cells[0] in ROWS:
            rows[cells[0]] = cells[1:]
    return rows


HEADER = ('| Method | Pre-train time (s) | mIoU, frozen backbone | aAcc, frozen backbone '
          '| mIoU, fine-tuned | aAcc, fine-tuned | Transfer time (s) |')


def test_table_has_three_rows_with_percentages(demo):
    work_dir, _ = demo
    text = (work_dir / 'results.md').read_text()
    assert text.splitlines()[0] == HEADER
    rows = _table_rows(text)
    assert list(rows) == list(ROWS)
    for name, (pre, *percentages, seconds) in rows.items():
        assert (pre == '-') == (name == 'Random init')
        assert float(seconds) > 0 and all(0 <= float(p) <= 100 for p in percentages)
    assert re.search(r'^Seed 0, 1 run per method \(single values\)', text, re.M)


def test_json_matches_the_table(demo):
    work_dir, returned = demo
    results = json.loads((work_dir / 'results.json').read_text())
    assert results == json.loads(json.dumps(returned))
    assert results['table'] == (work_dir / 'results.md').read_text().rstrip('\n')
    assert results['seed'] == 0 and results['runs'] == 1 and results['threads'] == 1
    assert results['scale']['name'] == 'quick'
    rows = _table_rows(results['table'])
    assert [r['method'] for r in results['rows']] == list(ROWS)
    for row in results['rows']:
        pre, frozen_miou, frozen_aacc, miou, aacc, seconds = rows[row['method']]
        frozen = row['frozen']
        assert miou == f"{row['mIoU']:.2f}" and aacc == f"{row['aAcc']:.2f}"
        assert frozen_miou == f"{frozen['mIoU']:.2f}" and frozen_aacc == f"{frozen['aAcc']:.2f}"
        assert seconds == f"{row['finetune_s'] + frozen['finetune_s']:.1f}"
        assert pre == ('-' if row['pretrain_s'] is None else f"{row['pretrain_s']:.1f}")


def test_plot_is_a_png_with_loss_curves_and_maps(demo):
    work_dir, _ = demo
    png = work_dir / 'demo.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    image = cv2.imread(str(png))
    # Five panels side by side (losses, image, three similarity maps), 4 in x 80 dpi each.
    assert image is not None and image.shape[1] == 5 * 4 * 80 and image.shape[0] == 4 * 80
    assert image.std() > 10  # drawn, not blank


def _backbone_weights(state: dict, prefix: str) -> dict:
    weights = state.get('state_dict', state)
    return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}


def test_pretrained_backbones_were_loaded(demo):
    work_dir, results = demo
    rows = {r['method']: r for r in results['rows']}
    assert rows['Random init']['backbone'] is None
    pretrained = {}
    for name in ('DenseCL', 'MoCo v2'):
        row = rows[name]
        training = torch.load(row['pretrain_checkpoint'], map_location='cpu', weights_only=False)
        online = _backbone_weights(training, 'backbone.')
        extracted = torch.load(row['backbone'], map_location='cpu')['state_dict']
        # The file handed to mmseg is exactly the pre-trained online encoder.
        assert extracted.keys() == online.keys()
        assert all(torch.equal(extracted[k], online[k]) for k in online)
        log = '\n'.join(p.read_text() for p in Path(row['checkpoint']).parent.glob('*/*.log'))
        assert f"Loads checkpoint by local backend from path: {row['backbone']}" in log
        # mmengine logs keys that did not match; the extracted file fits mmseg's ResNet.
        assert 'missing keys in source state_dict' not in log
        assert 'unexpected key in source state_dict' not in log
        pretrained[name] = online
    # The two methods' encoders differ, so the rows are not one backbone twice.
    assert not torch.equal(pretrained['DenseCL']['conv1.weight'],
                           pretrained['MoCo v2']['conv1.weight'])
    # Four fine-tuning steps move the weights little: a fine-tuned backbone stays near
    # the one it was loaded from and far from the other starts.
    finetuned = {name: _backbone_weights(
        torch.load(rows[name]['checkpoint'], map_location='cpu', weights_only=False),
        'backbone.')['conv1.weight'] for name in ROWS}
    for name, start in pretrained.items():
        distance = (finetuned[name] - start['conv1.weight']).norm() / start['conv1.weight'].norm()
        assert distance < 0.1
    for name in pretrained:
        far = (finetuned['Random init'] - pretrained[name]['conv1.weight']).norm()
        assert far / pretrained[name]['conv1.weight'].norm() > 0.5
    # The frozen runs keep every backbone tensor (weights and BN statistics) as loaded.
    for name in ROWS:
        frozen = _backbone_weights(torch.load(rows[name]['frozen']['checkpoint'],
                                              map_location='cpu', weights_only=False),
                                   'backbone.')
        if name in pretrained:
            assert frozen.keys() == pretrained[name].keys()
            assert all(torch.equal(frozen[k], pretrained[name][k]) for k in frozen)


def test_similarity_map_is_one_at_the_query(demo, tmp_path):
    _, results = demo
    backbone = results['rows'][0]['backbone']
    image = np.random.default_rng(0).integers(0, 256, (96, 64, 3), dtype=np.uint8)
    pretrain_cfg = Config.fromfile(load_scale('quick').pretrain['DenseCL'])
    sim = similarity_map(pretrain_cfg, backbone, image, (1, 0))
    assert sim.shape == (3, 2)
    assert sim[1, 0] == pytest.approx(1.0, abs=1e-5)
    assert (sim <= 1 + 1e-5).all() and (sim >= -1e-6).all()  # ReLU features: no negatives


def test_results_table_format():
    rows = [dict(method='DenseCL', pretrain_s=12.345, finetune_s=6.0, mIoU=41.234, aAcc=80.0,
                 frozen=dict(mIoU=30.0, aAcc=70.125, finetune_s=4.0)),
            dict(method='Random init', pretrain_s=None, finetune_s=5.56, mIoU=3.0, aAcc=9.999,
                 frozen=dict(mIoU=1.0, aAcc=2.0, finetune_s=1.0))]
    assert results_table(rows, seed=3).splitlines() == [
        HEADER,
        '| --- | --- | --- | --- | --- | --- | --- |',
        '| DenseCL | 12.3 | 30.00 | 70.12 | 41.23 | 80.00 | 10.0 |',
        '| Random init | - | 1.00 | 2.00 | 3.00 | 10.00 | 6.6 |',
        '',
        'Seed 3, 1 run per method (single values); FCN-R18 on the labelled demo split, CPU.',
    ]


def _row(method, pretrain_s, miou, aacc, frozen_miou, frozen_aacc, seconds=1.0):
    return dict(method=method, pretrain_s=pretrain_s, mIoU=miou, aAcc=aacc, finetune_s=seconds,
                frozen=dict(mIoU=frozen_miou, aAcc=frozen_aacc, finetune_s=seconds))


def test_runs_are_aggregated_into_mean_and_sample_std():
    per_run = [
        [_row('DenseCL', 10.0, 20.0, 70.0, 14.0, 73.0),
         _row('Random init', None, 22.0, 76.0, 20.0, 74.0)],
        [_row('DenseCL', 12.0, 22.0, 72.0, 16.0, 75.0),
         _row('Random init', None, 23.0, 76.0, 20.0, 74.0, seconds=3.0)],
        [_row('DenseCL', 14.0, 24.0, 74.0, 18.0, 77.0),
         _row('Random init', None, 24.0, 76.0, 20.0, 74.0)],
    ]
    dense, random_init = aggregate_runs(per_run)
    assert dense['pretrain_s'] == 12.0 and random_init['pretrain_s'] is None
    assert dense['mIoU'] == 22.0 and dense['mIoU_std'] == pytest.approx(2.0)
    assert dense['frozen']['mIoU'] == 16.0 and dense['frozen']['mIoU_std'] == pytest.approx(2.0)
    assert random_init['mIoU_std'] == pytest.approx(1.0) and random_init['aAcc_std'] == 0.0
    assert random_init['finetune_s'] == pytest.approx(5 / 3)
    assert [r['mIoU'] for r in dense['runs']] == [20.0, 22.0, 24.0]
    lines = results_table([dense, random_init], seed=5, runs=3).splitlines()
    assert lines[2] == ('| DenseCL | 12.0 | 16.00 ± 2.00 | 75.00 ± 2.00 | 22.00 ± 2.00 '
                        '| 72.00 ± 2.00 | 2.0 |')
    assert lines[3] == ('| Random init | - | 20.00 ± 0.00 | 74.00 ± 0.00 | 23.00 ± 1.00 '
                        '| 76.00 ± 0.00 | 3.3 |')
    assert lines[5].startswith('Seeds 5 to 7, 3 runs per method (mean ± sample standard deviation')
    with pytest.raises(ValueError, match='different orders'):
        aggregate_runs([per_run[0], per_run[1][::-1]])


def test_two_quick_runs_use_their_own_seeds(tmp_path, capsys):
    """--runs 2: each run pre-trains and fine-tunes under its own seed and work dir."""
    results = main(['--quick', '--runs', '2', '--threads', '1', '--work-dir',
                    str(tmp_path / 'work'), '--data-root', str(tmp_path / 'data')])
    out = capsys.readouterr().out
    # Stage headers between the Runners' logs, one per step of each run.
    for seed in (0, 1):
        assert f'===== [demo] seed {seed}: pre-training DenseCL (' in out
        assert f'===== [demo] seed {seed}: transfer from Random init' in out
    assert "===== [demo] scale 'quick': writing the demo data" in out
    assert results['runs'] == 2
    table = (tmp_path / 'work' / 'results.md').read_text()
    assert re.search(r'^Seeds 0 to 1, 2 runs per method \(mean ± sample standard deviation',
                     table, re.M)
    assert (tmp_path / 'work' / 'demo.png').exists()
    for row in results['rows']:
        assert len(row['runs']) == 2
        values = [r['mIoU'] for r in row['runs']]
        assert row['mIoU'] == pytest.approx(np.mean(values))
        assert row['mIoU_std'] == pytest.approx(np.std(values, ddof=1))
        assert f"{row['mIoU']:.2f} ± {row['mIoU_std']:.2f}" in table
        for run, r in enumerate(row['runs']):
            assert f'{tmp_path}/work/run{run}/' in r['checkpoint']
    dense = {r['method']: r for r in results['rows']}['DenseCL']['runs']
    weights = [torch.load(r['pretrain_checkpoint'], map_location='cpu',
                          weights_only=False)['state_dict']['backbone.conv1.weight'] for r in dense]
    assert not torch.equal(*weights)  # seeds 0 and 1 give different pre-training
