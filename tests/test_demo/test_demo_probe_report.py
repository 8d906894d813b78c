"""The demo's probe table: each method's initialisation -> pre-trained backbone, single runs
and means ± spreads over runs."""
import pytest

from mmdense.demo.report import aggregate_runs, probe_table


def _row(method, knn, davis, probes=True):
    base = dict(method=method, pretrain_s=1.0, mIoU=10.0, aAcc=50.0, finetune_s=1.0,
                frozen=dict(mIoU=5.0, aAcc=40.0, finetune_s=1.0))
    if probes:
        base['probes'] = dict(knn_top1=knn, davis_jf=davis)
    return base


def test_single_run_table():
    table = probe_table([_row('DenseCL', (45.3, 34.4), (25.8, 28.8)),
                         _row('Random init', None, None, probes=False)])
    lines = table.splitlines()
    assert lines[0] == ('| Method | DAVIS J&F, init -> pre-trained | '
                        'k-NN top-1, init -> pre-trained |')
    assert lines[2] == '| DenseCL | 25.8 -> 28.8 | 45.3 -> 34.4 |'
    assert 'Random init' not in table  # no pre-training, no probes
    assert probe_table([_row('Random init', None, None, probes=False)]) == ''


def test_runs_are_aggregated():
    rows = aggregate_runs([[_row('DenseCL', (40.0, 30.0), (20.0, 26.0))],
                           [_row('DenseCL', (42.0, 34.0), (22.0, 30.0))]])
    probes = rows[0]['probes']
    assert probes['knn_top1'] == (41.0, 32.0)
    assert probes['knn_top1_std'] == pytest.approx((2 ** 0.5, 8 ** 0.5))
    assert '| DenseCL | 21.0 ± 1.4 -> 28.0 ± 2.8 | 41.0 ± 1.4 -> 32.0 ± 2.8 |' in probe_table(rows)
