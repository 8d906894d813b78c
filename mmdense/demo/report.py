"""The demo's report: the markdown table and the aggregation of repeated runs."""
from typing import List

import numpy as np

__all__ = ['results_table', 'probe_table', 'aggregate_runs']

# Probe scalars of the demo's pre-training runs (FrozenProbeHook) and their column names.
PROBE_COLUMNS = {'knn_top1': 'k-NN top-1', 'davis_jf': 'DAVIS J&F', 'corr_res4': 'corr. res4'}


def results_table(rows: List[dict], seed: int, runs: int = 1) -> str:
    """Markdown table of the demo results.

    Args:
        rows: Dicts with ``method``, ``pretrain_s`` (None without pre-training), the
            fine-tuned model's ``mIoU``, ``aAcc`` and ``finetune_s``, and ``frozen``: the
            same three for the frozen-backbone run. Rows from :func:`aggregate_runs`
            also carry ``mIoU_std`` and ``aAcc_std`` (in ``frozen`` too), shown as
            ``mean ± std``.
        seed: The seed of the first run (run ``r`` uses ``seed + r``).
        runs: Runs behind each row (1: single values; more: means and spreads).

    Returns:
        str: Header, separator, one line per row, then a line stating seeds and runs.
    """
    def cell(result: dict, key: str) -> str:
        if f'{key}_std' in result:
            return f"{result[key]:.2f} ± {result[f'{key}_std']:.2f}"
        return f'{result[key]:.2f}'

    lines = ['| Method | Pre-train time (s) | mIoU, frozen backbone | aAcc, frozen backbone '
             '| mIoU, fine-tuned | aAcc, fine-tuned | Transfer time (s) |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for row in rows:
        pre = '-' if row['pretrain_s'] is None else f"{row['pretrain_s']:.1f}"
        frozen = row['frozen']
        lines.append(f"| {row['method']} | {pre} | {cell(frozen, 'mIoU')} | "
                     f"{cell(frozen, 'aAcc')} | {cell(row, 'mIoU')} | {cell(row, 'aAcc')} | "
                     f"{row['finetune_s'] + frozen['finetune_s']:.1f} |")
    lines.append('')
    if runs == 1:
        lines.append(f'Seed {seed}, 1 run per method (single values); '
                     'FCN-R18 on the labelled demo split, CPU.')
    else:
        lines.append(f'Seeds {seed} to {seed + runs - 1}, {runs} runs per method (mean ± sample '
                     'standard deviation over the runs; times are means; each run pre-trains '
                     'and fine-tunes with its own seed, on the same data); FCN-R18 on the '
                     'labelled demo split, CPU.')
    return '\n'.join(lines)


def probe_table(rows: List[dict]) -> str:
    """Markdown table of the frozen-feature probes: each method's initialisation -> its
    pre-trained backbone (``row['probes'][key] = (before, after)``, with ``_std`` spreads
    after :func:`aggregate_runs`). Empty when no row has probes."""
    rows = [r for r in rows if r.get('probes')]
    keys = [k for k in PROBE_COLUMNS if any(k in r['probes'] for r in rows)]
    if not keys:
        return ''
    lines = ['| Method | ' + ' | '.join(f'{PROBE_COLUMNS[k]}, init -> pre-trained' for k in keys)
             + ' |', '| --- |' + ' --- |' * len(keys)]
    for row in rows:
        cells = []
        for key in keys:
            if key not in row['probes']:
                cells.append('-')
                continue
            before, after = row['probes'][key]
            spread = row['probes'].get(f'{key}_std')
            cells.append(f'{before:.1f} -> {after:.1f}' if spread is None else
                         f'{before:.1f} ± {spread[0]:.1f} -> {after:.1f} ± {spread[1]:.1f}')
        lines.append(f"| {row['method']} | " + ' | '.join(cells) + ' |')
    lines += ['', 'Frozen-feature probes (FrozenProbeHook, docs/evaluation.md) of each method\'s '
              'online backbone before and after pre-training: weighted 20-NN top-1 on the '
              'demo classification split (%), label propagation J&F on 4 synthetic clips (%), '
              'dense correspondence between two views at res4 (%).']
    return '\n'.join(lines)


def _mean_std(values: List[float]) -> tuple:
    """Mean and sample standard deviation (0 for a single value)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def aggregate_runs(per_run: List[List[dict]]) -> List[dict]:
    """Combine the rows of several demo runs into one row per method.

    Args:
        per_run: One list of rows (as :func:`results_table` takes them) per run, the
            methods in the same order in every run.

    Returns:
        list[dict]: Per method: the means of the times, ``mIoU`` and ``aAcc`` (top
        level and in ``frozen``), the sample standard deviations of the last two as
        ``mIoU_std`` and ``aAcc_std``, and ``runs``: that method's row of every run.
    """
    rows = []
    for runs in zip(*per_run):
        methods = {r['method'] for r in runs}
        if len(methods) != 1:
            raise ValueError('aggregate_runs: the runs list the methods in different orders: '
                             f'{sorted(methods)}')
        row = dict(method=runs[0]['method'], runs=list(runs),
                   pretrain_s=None if runs[0]['pretrain_s'] is None else
                   float(np.mean([r['pretrain_s'] for r in runs])))
        frozen = {}
        for target, results in ((row, runs), (frozen, [r['frozen'] for r in runs])):
            for key in ('mIoU', 'aAcc'):
                target[key], target[f'{key}_std'] = _mean_std([r[key] for r in results])
            target['finetune_s'] = _mean_std([r['finetune_s'] for r in results])[0]
        row['frozen'] = frozen
        if all(r.get('probes') for r in runs):
            probes = {}
            for key in runs[0]['probes']:
                before = _mean_std([r['probes'][key][0] for r in runs])
                after = _mean_std([r['probes'][key][1] for r in runs])
                probes[key] = (before[0], after[0])
                probes[f'{key}_std'] = (before[1], after[1])
            row['probes'] = probes
        rows.append(row)
    return rows
