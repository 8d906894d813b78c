"""The demo's report: the markdown tables and the aggregation of repeated runs."""
from typing import List

import numpy as np

__all__ = ['PROBE_COLUMNS', 'results_table', 'probe_table', 'aggregate_runs']

# Probe scalars of the demo's pre-training runs (FrozenProbeHook) and their column names.
PROBE_COLUMNS = {'corr_res4': 'corr. res4', 'davis_jf': 'DAVIS J&F', 'knn_top1': 'k-NN top-1'}


def _cell(result: dict, key: str, digits: int = 2) -> str:
    if result.get(key) is None:
        return '-'
    if f'{key}_std' in result:
        return f"{result[key]:.{digits}f} ± {result[f'{key}_std']:.{digits}f}"
    return f'{result[key]:.{digits}f}'


def results_table(rows: List[dict], seed: int, runs: int = 1) -> str:
    """Markdown table of the demo results: probes of the final backbones and the transfer.

    Args:
        rows: Dicts with ``method``, ``pretrain_s`` (None without pre-training),
            ``probes`` (probe key -> (init, final); the random-init row's (value, value);
            may be missing), the fine-tuned model's ``mIoU``, ``aAcc`` and ``finetune_s``,
            and optionally ``frozen``: the same three for the frozen-backbone run. Rows
            from :func:`aggregate_runs` also carry ``<key>_std`` spreads, shown as
            ``mean ± std``.
        seed: The seed of the first run (run ``r`` uses ``seed + r``).
        runs: Runs behind each row (1: single values; more: means and spreads).

    Returns:
        str: Header, separator, one line per row, then a line stating seeds and runs.
    """
    probe_keys = [k for k in PROBE_COLUMNS if any(k in (r.get('probes') or {}) for r in rows)]
    frozen = any('frozen' in r for r in rows)
    header = ['Method', 'Pre-train time (s)', *(PROBE_COLUMNS[k] for k in probe_keys),
              'mIoU, fine-tuned', 'aAcc, fine-tuned']
    if frozen:
        header += ['mIoU, frozen backbone', 'aAcc, frozen backbone']
    header.append('Transfer time (s)')
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for row in rows:
        probes = row.get('probes') or {}
        final = {k: probes[k][1] for k in probe_keys if k in probes}
        final.update({f'{k}_std': probes[f'{k}_std'][1] for k in probe_keys
                      if f'{k}_std' in probes})
        cells = [row['method'], '-' if row['pretrain_s'] is None else f"{row['pretrain_s']:.1f}",
                 *(_cell(final, k, 1) for k in probe_keys), _cell(row, 'mIoU'),
                 _cell(row, 'aAcc')]
        seconds = row['finetune_s']
        if frozen:
            cells += [_cell(row.get('frozen', {}), 'mIoU'), _cell(row.get('frozen', {}), 'aAcc')]
            seconds += row.get('frozen', {}).get('finetune_s', 0.0)
        cells.append(f'{seconds:.1f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines.append('')
    what = ('FCN-R18 on the labelled demo split, CPU' if not probe_keys else
            'probes of the final backbones (the random-init row: at initialisation; '
            'correspondence and DAVIS J&F in %, k-NN top-1 in %), then FCN-R18 on the '
            'labelled demo split; CPU')
    if runs == 1:
        lines.append(f'Seed {seed}, 1 run per method (single values); {what}.')
    else:
        lines.append(f'Seeds {seed} to {seed + runs - 1}, {runs} runs per method (mean ± sample '
                     'standard deviation over the runs; times are means; each run pre-trains '
                     f'and fine-tunes with its own seed, on the same data); {what}.')
    return '\n'.join(lines)


def probe_table(rows: List[dict]) -> str:
    """Markdown table of the frozen-feature probes of each pre-training run: its
    initialisation -> its pre-trained backbone (``row['probes'][key] = (before, after)``,
    with ``_std`` spreads after :func:`aggregate_runs`). Rows without pre-training are left
    out; empty when no row has probes."""
    rows = [r for r in rows if r.get('probes') and r.get('pretrain_s') is not None]
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
              'online backbone before and after pre-training: dense correspondence between two '
              'views at res4 (%), label propagation J&F on the synthetic clips (%), weighted '
              'k-NN top-1 on the demo classification split (%).']
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
        level and in ``frozen`` when the runs have it), the sample standard deviations
        of the last two as ``mIoU_std`` and ``aAcc_std``, the probes' means with
        ``<key>_std`` spreads, the first run's ``backbone`` and ``pretrain_checkpoint``,
        and ``runs``: that method's row of every run.
    """
    rows = []
    for runs in zip(*per_run):
        methods = {r['method'] for r in runs}
        if len(methods) != 1:
            raise ValueError('aggregate_runs: the runs list the methods in different orders: '
                             f'{sorted(methods)}')
        row = dict(method=runs[0]['method'], runs=list(runs),
                   backbone=runs[0].get('backbone'),
                   pretrain_checkpoint=runs[0].get('pretrain_checkpoint'),
                   pretrain_s=None if runs[0]['pretrain_s'] is None else
                   float(np.mean([r['pretrain_s'] for r in runs])))
        targets = [(row, runs)]
        if all('frozen' in r for r in runs):
            row['frozen'] = {}
            targets.append((row['frozen'], [r['frozen'] for r in runs]))
        for target, results in targets:
            for key in ('mIoU', 'aAcc'):
                target[key], target[f'{key}_std'] = _mean_std([r[key] for r in results])
            target['finetune_s'] = _mean_std([r['finetune_s'] for r in results])[0]
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
