"""The one-command demo at its ``--quick`` scale, end to end (tools/demo.py --quick).

One module-scoped run (about 40 s on one free core, in this process: ``--jobs 1``)
pre-trains DenseCL, MoCo v2 and PixPro for two epochs of two iterations with the quick
probes, probes a random-init backbone, trains FCN-R18 eight times for four iterations
(each start fine-tuned and with its backbone frozen), and writes the table, the verdict,
the JSON and the plot that the tests below check. ``--runs 2 --jobs 2`` then runs the
process pool.
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

ROWS = ('DenseCL', 'MoCo v2', 'PixPro', 'Random init')
PRETRAINED = ROWS[:3]


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    threads = torch.get_num_threads()
    # One thread: the test machine's cores are shared, where intra-op threads stall.
    results = main(['--quick', '--jobs', '1', '--threads', '1', '--work-dir', str(root / 'work'),
                    '--data-root', str(root / 'data')])
    assert torch.get_num_threads() == threads  # the demo restores the caller's setting
    return root / 'work', results


def _table_rows(text: str) -> dict:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == len(HEADER_CELLS) and cells[0] in ROWS:
            rows[cells[0]] = cells[1:]
    return rows


HEADER_CELLS = ('Method', 'Pre-train time (s)', 'corr. res4', 'DAVIS J&F', 'k-NN top-1',
                'mIoU, fine-tuned', 'aAcc, fine-tuned', 'mIoU, frozen backbone',
                'aAcc, frozen backbone', 'Transfer time (s)')
HEADER = '| ' + ' | '.join(HEADER_CELLS) + ' |'
NO_PROBES_HEADER = ('| Method | Pre-train time (s) | mIoU, fine-tuned | aAcc, fine-tuned '
                    '| mIoU, frozen backbone | aAcc, frozen backbone | Transfer time (s) |')


def test_table_has_four_rows_with_percentages(demo):
    work_dir, _ = demo
    text = (work_dir / 'results.md').read_text()
    assert text.splitlines()[0] == HEADER
    rows = _table_rows(text)
    assert list(rows) == list(ROWS)
    for name, (pre, *percentages, seconds) in rows.items():
        assert (pre == '-') == (name == 'Random init')
        assert float(seconds) > 0 and all(0 <= float(p) <= 100 for p in percentages)
    assert re.search(r'^Seed 0, 1 run per method \(single values\)', text, re.M)


def test_verdict_and_probe_sections(demo):
    work_dir, results = demo
    text = (work_dir / 'results.md').read_text()
    assert ('**Verdict.** Headline, fixed before the first run: DenseCL and PixPro against '
            'Random init on corr. res4, DAVIS J&F') in text
    # One run: nothing to test the differences against, and the report says so.
    assert 'With one run there is no spread to test against: no verdict' in text
    rows = {r['method']: r for r in results['rows']}
    for name in ROWS:
        probes = rows[name]['probes']
        assert set(probes) >= {'corr_res4', 'davis_jf', 'knn_top1'}
        assert all(0 <= v <= 100 for pair in probes.values() for v in pair)
    # The random-init row is probed at initialisation only: (value, value).
    assert all(a == b for a, b in rows['Random init']['probes'].values())
    diff = rows['DenseCL']['probes']['corr_res4'][1] - rows['Random init']['probes']['corr_res4'][1]
    assert f'- DenseCL: corr. res4 {diff:+.1f} (p not defined): not tested' in text
    # The before -> after table lists the pre-trained rows only.
    assert '| DenseCL | ' in text.split('init -> pre-trained')[-1]
    assert '| Random init |' not in text.split('corr. res4, init -> pre-trained')[-1]
    # The probe data went under --data-root, not into the checkout.
    assert (work_dir.parent / 'data' / 'probes' / 'quick' / 'imagenet' / 'val').is_dir()
    assert (work_dir.parent / 'data' / 'probes' / 'quick' / 'DAVIS').is_dir()


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
        pre, corr, davis, knn, miou, aacc, frozen_miou, frozen_aacc, seconds = rows[row['method']]
        frozen = row['frozen']
        probes = row['probes']
        assert (corr, davis, knn) == tuple(f'{probes[k][1]:.1f}'
                                           for k in ('corr_res4', 'davis_jf', 'knn_top1'))
        assert miou == f"{row['mIoU']:.2f}" and aacc == f"{row['aAcc']:.2f}"
        assert frozen_miou == f"{frozen['mIoU']:.2f}" and frozen_aacc == f"{frozen['aAcc']:.2f}"
        assert seconds == f"{row['finetune_s'] + frozen['finetune_s']:.1f}"
        assert pre == ('-' if row['pretrain_s'] is None else f"{row['pretrain_s']:.1f}")


def test_plot_is_a_png_with_loss_curves_and_maps(demo):
    work_dir, _ = demo
    png = work_dir / 'demo.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    image = cv2.imread(str(png))
    # Two rows of five panels (losses and three probe curves; image and four similarity
    # maps), 4 in x 80 dpi each.
    assert image is not None and image.shape[1] == 5 * 4 * 80 and image.shape[0] == 2 * 4 * 80
    assert image.std() > 10  # drawn, not blank


def _backbone_weights(state: dict, prefix: str) -> dict:
    weights = state.get('state_dict', state)
    return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}


def test_pretrained_backbones_were_loaded(demo):
    work_dir, results = demo
    rows = {r['method']: r for r in results['rows']}
    assert rows['Random init']['backbone'] is None
    pretrained = {}
    for name in PRETRAINED:
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
    # The methods' encoders differ, so the rows are not one backbone twice.
    assert not torch.equal(pretrained['DenseCL']['conv1.weight'],
                           pretrained['MoCo v2']['conv1.weight'])
    assert not torch.equal(pretrained['DenseCL']['conv1.weight'],
                           pretrained['PixPro']['conv1.weight'])
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
        NO_PROBES_HEADER,
        '| --- | --- | --- | --- | --- | --- | --- |',
        '| DenseCL | 12.3 | 41.23 | 80.00 | 30.00 | 70.12 | 10.0 |',
        '| Random init | - | 3.00 | 10.00 | 1.00 | 2.00 | 6.6 |',
        '',
        'Seed 3, 1 run per method (single values); FCN-R18 on the labelled demo split, CPU.',
    ]
    # Without the frozen protocol its columns go; with probes, theirs come (final values).
    rows[0]['probes'] = dict(corr_res4=(50.0, 61.25), davis_jf=(20.0, 22.5))
    rows[1]['probes'] = dict(corr_res4=(52.5, 52.5), davis_jf=(21.0, 21.0))
    for row in rows:
        del row['frozen']
    assert results_table(rows, seed=0).splitlines()[:4] == [
        '| Method | Pre-train time (s) | corr. res4 | DAVIS J&F | mIoU, fine-tuned '
        '| aAcc, fine-tuned | Transfer time (s) |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        '| DenseCL | 12.3 | 61.2 | 22.5 | 41.23 | 80.00 | 6.0 |',
        '| Random init | - | 52.5 | 21.0 | 3.00 | 10.00 | 5.6 |',
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
    assert lines[2] == ('| DenseCL | 12.0 | 22.00 ± 2.00 | 72.00 ± 2.00 | 16.00 ± 2.00 '
                        '| 75.00 ± 2.00 | 2.0 |')
    assert lines[3] == ('| Random init | - | 23.00 ± 1.00 | 76.00 ± 0.00 | 20.00 ± 0.00 '
                        '| 74.00 ± 0.00 | 3.3 |')
    assert lines[5].startswith('Seeds 5 to 7, 3 runs per method (mean ± sample standard deviation')
    with pytest.raises(ValueError, match='different orders'):
        aggregate_runs([per_run[0], per_run[1][::-1]])


def test_two_quick_runs_use_their_own_seeds(tmp_path, capsys):
    """--runs 2 --jobs 2: each run pre-trains and fine-tunes under its own seed and work dir,
    in a pool of two processes, each job logging to its own file."""
    results = main(['--quick', '--runs', '2', '--jobs', '2', '--work-dir',
                    str(tmp_path / 'work'), '--data-root', str(tmp_path / 'data')])
    out = capsys.readouterr().out
    # One line per finished job; the Runners' logs go to the jobs' files.
    assert '24 jobs (2 run(s) of 3 pre-trainings' in out and '2 at a time' in out
    for seed in (0, 1):
        assert re.search(rf'===== \[demo\] done \d+/24: seed {seed}: pre-training DenseCL \(', out)
        assert re.search(rf'done \d+/24: seed {seed}: transfer from Random init, frozen', out)
        assert re.search(rf'done \d+/24: seed {seed}: probes of random init', out)
    assert "===== [demo] scale 'quick': writing the demo data" in out
    assert 'Epoch(train)' not in out
    log = tmp_path / 'work' / 'run1' / 'pretrain' / 'pixpro' / 'job.log'
    assert 'Epoch(train) [2][2/2]' in log.read_text() and 'Probe (epoch 2' in log.read_text()
    assert results['jobs'] == 2 and results['threads'] == 1
    verdict = results['table'].split('**Verdict.**')[1]
    assert "(Welch's t-test over 2 runs, alpha 0.05)" in verdict
    assert re.search(r'^- \*\*DenseCL: .+\.\*\*$', verdict, re.M)
    assert re.search(r'^- DenseCL against MoCo v2: corr\. res4 [+-]\d', verdict, re.M)
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
            assert r['probes'] and all(k in row['probes'] for k in r['probes'])
    dense = {r['method']: r for r in results['rows']}['DenseCL']['runs']
    weights = [torch.load(r['pretrain_checkpoint'], map_location='cpu',
                          weights_only=False)['state_dict']['backbone.conv1.weight'] for r in dense]
    assert not torch.equal(*weights)  # seeds 0 and 1 give different pre-training
