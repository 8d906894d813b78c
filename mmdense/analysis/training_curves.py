"""Loss and probe curves of pre-training runs, read from their ``scalars.json``.

MMEngine's ``LocalVisBackend`` writes one JSON object per logged step to
``<work_dir>/<timestamp>/vis_data/scalars.json``: the losses at the logger's interval and, with
``mmdense.FrozenProbeHook``, ``probe/<name>`` at each probe run. This module reads the newest
run of each work dir and draws one panel per quantity, one line per run, so methods (and
seeds) can be compared on one figure (``docs/training_curves.md``). Command line:
``tools/analysis/plot_training_curves.py``.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Sequence, Tuple

__all__ = ['read_scalars', 'curves', 'plot_training_curves', 'summarise_curves']

LOSS_KEYS = ('loss', 'loss_single', 'loss_dense', 'loss_pixel', 'loss_instance')


def read_scalars(work_dir: str) -> List[dict]:
    """The records of the newest run in ``work_dir`` (timestamped folders sort in time)."""
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'{work_dir} holds no <timestamp>/vis_data/scalars.json: pass a '
                                'work dir of tools/train.py.')
    with open(paths[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def curves(records: Sequence[dict]) -> Dict[str, Tuple[List[int], List[float]]]:
    """Quantity -> (steps, values) for every loss and probe key present."""
    out: Dict[str, Tuple[List[int], List[float]]] = {}
    for record in records:
        for key, value in record.items():
            if key in LOSS_KEYS or (key.startswith('probe/') and key != 'probe/seconds'):
                steps, values = out.setdefault(key, ([], []))
                steps.append(int(record['step']))
                values.append(float(value))
    return out


def summarise_curves(records: Sequence[dict]) -> Dict[str, Dict[str, float]]:
    """First, minimum, maximum and last value of each curve (for tables in the docs)."""
    return {key: dict(first=values[0], min=min(values), max=max(values), last=values[-1])
            for key, (_, values) in curves(records).items()}


def plot_training_curves(runs: Dict[str, str], out: str) -> List[str]:
    """Draw every quantity of ``runs`` (label -> work dir) into ``out`` (PNG).

    Returns:
        list[str]: The quantities drawn, in panel order.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    data = {label: curves(read_scalars(work_dir)) for label, work_dir in runs.items()}
    keys = [k for k in LOSS_KEYS if any(k in c for c in data.values())]
    keys += sorted({k for c in data.values() for k in c if k.startswith('probe/')})
    cols = min(3, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.4 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for label, series in data.items():
            if key in series:
                steps, values = series[key]
                ax.plot(steps, values, marker='o' if key.startswith('probe/') else None,
                        markersize=3, label=label)
        ax.set_title(key)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return keys
