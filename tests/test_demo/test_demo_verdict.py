"""The demo's verdict: Welch's t-test of each method against random init, and the headline."""
import numpy as np
import pytest
from scipy import stats

from mmdense.demo.verdict import compare, metric_values, verdict_lines

VERDICT = dict(headline=['corr_res4', 'davis_jf'], methods=['DenseCL', 'PixPro'],
               baseline='Random init', alpha=0.05, pairs=[['DenseCL', 'MoCo v2']])


def _row(method, corr, davis, miou, pretrained=True):
    runs = [dict(method=method, pretrain_s=1.0 if pretrained else None, mIoU=m, aAcc=50.0,
                 finetune_s=1.0, probes=dict(corr_res4=(40.0, c), davis_jf=(20.0, d)))
            for c, d, m in zip(corr, davis, miou)]
    return dict(method=method, runs=runs, pretrain_s=1.0 if pretrained else None)


ROWS = [
    _row('DenseCL', [61.0, 62.0, 60.5], [27.0, 25.0, 29.0], [20.0, 21.0, 20.5]),
    _row('MoCo v2', [63.0, 64.5, 62.0], [31.0, 32.5, 30.0], [21.0, 20.0, 21.5]),
    _row('PixPro', [45.0, 47.0, 46.0], [20.0, 21.0, 22.0], [19.0, 19.5, 20.0]),
    _row('Random init', [52.0, 53.5, 51.0], [26.0, 28.0, 27.0], [22.0, 21.0, 23.0],
         pretrained=False),
]


def test_compare_is_welchs_test():
    a, b = [61.0, 62.0, 60.5], [52.0, 53.5, 51.0]
    result = compare(a, b)
    assert result['diff'] == pytest.approx(np.mean(a) - np.mean(b))
    assert result['p'] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    # Welch's, not Student's: the two differ with unequal spreads.
    wide = [40.0, 70.0, 55.0]
    assert compare(wide, b)['p'] == pytest.approx(
        stats.ttest_ind(wide, b, equal_var=False).pvalue)
    assert compare(wide, b)['p'] != pytest.approx(stats.ttest_ind(wide, b).pvalue)
    assert result['verdict'] == 'helps'
    assert compare(b, a)['verdict'] == 'hurts'
    assert compare([27.0, 25.0, 29.0], [26.0, 28.0, 27.0])['verdict'] == \
        'no measurable difference'
    # A large difference of the means with large spreads is not enough.
    assert compare([60.0, 20.0, 70.0], [30.0, 31.0, 29.0])['verdict'] == \
        'no measurable difference'


def test_compare_edge_cases():
    assert compare([50.0], [40.0]) == dict(diff=10.0, p=None, verdict='not tested')
    assert compare([50.0, 50.0], [40.0, 40.0])['verdict'] == 'helps'  # no noise at all
    assert compare([50.0, 50.0], [50.0, 50.0])['verdict'] == 'not tested'


def test_metric_values_reads_probes_and_fcn():
    row = ROWS[0]
    assert metric_values(row, 'corr_res4') == [61.0, 62.0, 60.5]  # the final backbone's
    assert metric_values(row, 'mIoU') == [20.0, 21.0, 20.5]
    assert metric_values(row, 'knn_top1') == []  # not probed
    assert metric_values(row, 'frozen_mIoU') == []  # protocol not run


def test_verdict_lines_state_headline_and_outcomes():
    lines = verdict_lines(ROWS, VERDICT)
    assert lines[0] == ("**Verdict.** Headline, fixed before the first run: DenseCL and PixPro "
                        "against Random init on corr. res4, DAVIS J&F (Welch's t-test over 3 "
                        'runs, alpha 0.05).')
    assert lines[1] == '- **DenseCL: pre-training helps on corr. res4.**'
    assert lines[2] == '- **PixPro: pre-training hurts on corr. res4, DAVIS J&F.**'
    p = stats.ttest_ind([61.0, 62.0, 60.5], [52.0, 53.5, 51.0], equal_var=False).pvalue
    dense = next(line for line in lines if line.startswith('- DenseCL: '))
    assert dense.startswith(f'- DenseCL: corr. res4 +9.0 (p = {p:.3f}): helps; DAVIS J&F +0.0')
    assert 'FCN mIoU fine-tuned -1.5' in dense
    assert any(line.startswith('- MoCo v2: corr. res4 +11.0') for line in lines)
    assert any(line.startswith('- DenseCL against MoCo v2: corr. res4 -2.0') for line in lines)
    every = verdict_lines(ROWS[:1] + ROWS[3:], dict(VERDICT, methods=['DenseCL'],
                                                    headline=['corr_res4'], pairs=[]))
    assert every[1] == '- **DenseCL: pre-training helps on every headline metric.**'


def test_verdict_names_what_is_wrong_in_the_scale():
    with pytest.raises(KeyError, match="verdict.baseline 'Random' is not a row"):
        verdict_lines(ROWS, dict(VERDICT, baseline='Random'))
    with pytest.raises(KeyError, match="verdict.methods: 'DetCon' is not a row"):
        verdict_lines(ROWS, dict(VERDICT, methods=['DetCon']))


def test_each_pretraining_against_its_own_initialisation():
    from mmdense.demo.verdict import compare_paired
    after, before = [61.0, 62.0, 60.5], [40.0, 42.0, 39.0]
    result = compare_paired(after, before)
    assert result['diff'] == pytest.approx(np.mean(after) - np.mean(before))
    assert result['p'] == pytest.approx(stats.ttest_rel(after, before).pvalue)
    assert result['verdict'] == 'helps'
    assert compare_paired([1.0, 2.0], [1.0, 2.0])['verdict'] == 'not tested'
    assert compare_paired([2.0, 3.0], [1.0, 2.0]) == dict(diff=1.0, p=0.0, verdict='helps')
    lines = verdict_lines(ROWS, VERDICT)
    start = lines.index('Each pre-trained backbone against its own initialisation (paired '
                        't-test over the runs; added after the first run, not part of the '
                        'headline):')
    own = lines[start + 1:]
    assert [line.split(':')[0] for line in own] == ['- DenseCL', '- MoCo v2', '- PixPro']
    p = stats.ttest_rel([61.0, 62.0, 60.5], [40.0, 40.0, 40.0]).pvalue
    assert own[0].startswith(f'- DenseCL: corr. res4 +21.2 (p = {p:.3f}): helps; DAVIS J&F')
