"""The demo's verdict: does a pre-trained backbone beat random init, beyond the seed noise?

Each comparison takes one metric of two table rows over the same seeds and applies Welch's
t-test (unequal variances; ``scipy.stats.ttest_ind(equal_var=False)``) to the per-run values.
A method *helps* on a metric when its mean is higher and p < alpha, *hurts* when lower and
p < alpha, and otherwise shows *no measurable difference*. With three runs per row the test
is demanding (about 2.8 standard errors at alpha 0.05), which is the point: the demo claims
only what the seeds support. The headline (which metrics, which methods, against which row)
is part of the scale file, fixed before the results were known (docs/demo.md).
"""
import math
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np

__all__ = ['compare', 'compare_paired', 'metric_values', 'verdict_lines']

# Metric key -> name in the verdict; probe keys are FrozenProbeHook's, the others the FCN's.
METRIC_NAMES = {'corr_res4': 'corr. res4', 'corr_res5': 'corr. res5', 'davis_jf': 'DAVIS J&F',
                'knn_top1': 'k-NN top-1', 'mIoU': 'FCN mIoU fine-tuned',
                'frozen_mIoU': 'FCN mIoU frozen'}


def metric_values(row: dict, metric: str) -> List[float]:
    """Per-run values of ``metric`` in a demo row (aggregated or single).

    Probe metrics are the probe's value on the row's final backbone (``probes[key]`` is
    ``(init, final)``; the random-init row's is ``(value, value)``); ``mIoU`` is the
    fine-tuned FCN's, ``frozen_mIoU`` the frozen-backbone FCN's.
    """
    runs = row.get('runs', [row])
    values = []
    for run in runs:
        if metric == 'mIoU':
            values.append(run.get('mIoU'))
        elif metric == 'frozen_mIoU':
            values.append(run.get('frozen', {}).get('mIoU'))
        else:
            probe = run.get('probes', {}).get(metric)
            values.append(None if probe is None else probe[1])
    return [] if any(v is None for v in values) else [float(v) for v in values]


def compare(values: Sequence[float], baseline: Sequence[float], alpha: float = 0.05) -> dict:
    """Welch's t-test of ``values`` against ``baseline``.

    Returns:
        dict: ``diff`` (difference of the means), ``p`` (two-sided; None when either side
        has fewer than two runs or both have no spread) and ``verdict``: ``'helps'``,
        ``'hurts'``, ``'no measurable difference'`` or ``'not tested'``.
    """
    values, baseline = np.asarray(values, np.float64), np.asarray(baseline, np.float64)
    diff = float(values.mean() - baseline.mean())
    p = None
    if len(values) >= 2 and len(baseline) >= 2:
        if values.std() > 0 or baseline.std() > 0:
            from scipy.stats import ttest_ind
            with warnings.catch_warnings():
                # Near-identical runs (the quick scale's) make scipy warn about precision.
                warnings.simplefilter('ignore', RuntimeWarning)
                p = float(ttest_ind(values, baseline, equal_var=False).pvalue)
        elif diff != 0:
            p = 0.0  # identical runs on each side, different means: no noise to test against
    return _judge(diff, p, alpha)


def _judge(diff: float, p: Optional[float], alpha: float) -> dict:
    """The verdict on a difference of means ``diff`` with two-sided p-value ``p``."""
    if p is None or math.isnan(p):
        return dict(diff=diff, p=None, verdict='not tested')
    if p < alpha:
        return dict(diff=diff, p=p, verdict='helps' if diff > 0 else 'hurts')
    return dict(diff=diff, p=p, verdict='no measurable difference')


def compare_paired(after: Sequence[float], before: Sequence[float], alpha: float = 0.05) -> dict:
    """Paired t-test (``scipy.stats.ttest_rel``) of ``after`` against ``before``, run by run:
    each pre-training against its own initialisation. Same return value as :func:`compare`."""
    after, before = np.asarray(after, np.float64), np.asarray(before, np.float64)
    deltas = after - before
    diff = float(deltas.mean())
    if len(deltas) < 2:
        return dict(diff=diff, p=None, verdict='not tested')
    if deltas.std() == 0:
        p = None if diff == 0 else 0.0
    else:
        from scipy.stats import ttest_rel
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)
            p = float(ttest_rel(after, before).pvalue)
    return _judge(diff, p, alpha)


def _initial_values(row: dict, metric: str) -> List[float]:
    """Per-run probe values of ``metric`` at the row's initialisation ([] without)."""
    values = [run.get('probes', {}).get(metric) for run in row.get('runs', [row])]
    return [] if any(v is None for v in values) else [float(v[0]) for v in values]


def _comparison_text(name: str, result: dict) -> str:
    p = 'p not defined' if result['p'] is None else f"p = {result['p']:.3f}"
    return f"{name} {result['diff']:+.1f} ({p}): {result['verdict']}"


def verdict_lines(rows: List[dict], verdict: dict, metrics: Optional[Sequence[str]] = None
                  ) -> List[str]:
    """The verdict section of the demo report.

    Args:
        rows: The demo's (aggregated) rows.
        verdict: The scale's ``verdict``: ``headline`` (metrics), ``methods``,
            ``baseline`` (a row name), ``alpha`` and optionally ``pairs``: ``[first,
            second]`` rows also compared with each other (e.g. DenseCL and MoCo v2).
        metrics: Every metric to compare (default: the probes and FCN metrics present).

    Returns:
        list[str]: Markdown lines: the stated headline, its outcome, then one line per
        method with every metric's comparison.
    """
    by_name: Dict[str, dict] = {row['method']: row for row in rows}
    baseline, alpha = verdict['baseline'], verdict.get('alpha', 0.05)
    if baseline not in by_name:
        raise KeyError(f'verdict.baseline {baseline!r} is not a row of the demo '
                       f'({sorted(by_name)}); fix the scale file.')
    metrics = list(metrics or METRIC_NAMES)
    metrics = [m for m in metrics if metric_values(by_name[baseline], m)]
    runs = len(metric_values(by_name[baseline], metrics[0])) if metrics else 0
    headline = [m for m in verdict['headline'] if m in metrics]
    names = ', '.join(METRIC_NAMES.get(m, m) for m in headline)
    methods = ' and '.join(verdict['methods'])
    lines = [f'**Verdict.** Headline, fixed before the first run: {methods} against '
             f"{baseline} on {names} (Welch's t-test over {runs} runs, alpha {alpha})."]
    outcomes = {}
    for method in verdict['methods']:
        if method not in by_name:
            raise KeyError(f'verdict.methods: {method!r} is not a row of the demo '
                           f'({sorted(by_name)}); fix the scale file.')
        outcomes[method] = [compare(metric_values(by_name[method], m),
                                    metric_values(by_name[baseline], m), alpha)['verdict']
                            for m in headline]
    if runs < 2:
        lines.append('- With one run there is no spread to test against: no verdict '
                     '(run with `--runs 3`).')
    else:
        for method, results in outcomes.items():
            if all(r == 'helps' for r in results):
                summary = 'pre-training helps on every headline metric'
            elif any(r == 'helps' for r in results):
                summary = 'pre-training helps on ' + ', '.join(
                    METRIC_NAMES.get(m, m) for m, r in zip(headline, results) if r == 'helps')
            elif any(r == 'hurts' for r in results):
                summary = 'pre-training hurts on ' + ', '.join(
                    METRIC_NAMES.get(m, m) for m, r in zip(headline, results) if r == 'hurts')
            else:
                summary = 'no measurable difference from random init'
            lines.append(f'- **{method}: {summary}.**')
    lines += ['', f'Every comparison against {baseline} (difference of the means):']
    for method in [r['method'] for r in rows if r['method'] != baseline]:
        parts = [_comparison_text(METRIC_NAMES.get(m, m),
                                  compare(metric_values(by_name[method], m),
                                          metric_values(by_name[baseline], m), alpha))
                 for m in metrics if metric_values(by_name[method], m)]
        lines.append(f'- {method}: ' + '; '.join(parts) + '.')
    for first, second in verdict.get('pairs', []):
        parts = [_comparison_text(METRIC_NAMES.get(m, m),
                                  compare(metric_values(by_name[first], m),
                                          metric_values(by_name[second], m), alpha))
                 for m in metrics if metric_values(by_name[first], m)
                 and metric_values(by_name[second], m)]
        lines.append(f'- {first} against {second}: ' + '; '.join(parts) + '.')
    # Each pre-training against its own initialisation (the methods initialise differently,
    # e.g. PixPro zeroes each block's last BN, so "against random init" mixes the two).
    lines += ['', 'Each pre-trained backbone against its own initialisation (paired t-test over '
              'the runs; added after the first run, not part of the headline):']
    for row in rows:
        if row.get('pretrain_s') is None:
            continue
        parts = [_comparison_text(METRIC_NAMES.get(m, m),
                                  compare_paired(metric_values(row, m), _initial_values(row, m),
                                                 alpha))
                 for m in metrics if _initial_values(row, m)]
        if parts:
            lines.append(f"- {row['method']}: " + '; '.join(parts) + '.')
    return lines
