"""Read benchmark work dirs and summarise their last evaluation.

Fine-tunes and linear probes (mmdet, mmseg, mmpretrain): MMEngine's ``LocalVisBackend``
appends one JSON object per logged step to ``<work_dir>/<timestamp>/vis_data/scalars.json``;
evaluation steps carry the metric keys (``coco/bbox_mAP``, ``pascal_voc/AP50``, ``mIoU``,
``accuracy/top1``, ...). The training-free probes write one JSON file instead:
``knn_results.json`` (``tools/benchmarks/knn.py``) and ``results.json`` with ``J``/``F``/``JF``
(``tools/benchmarks/davis/label_propagation.py``). The command line wrapper is
``tools/benchmarks/collect_results.py``.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

__all__ = ['last_evaluation', 'summarise_work_dir', 'results_table']

# Column -> (metric key, scale to percent), first match wins for each column.
DETECTION_COLUMNS = {
    'AP': [('coco/bbox_mAP', 100), ('pascal_voc/mAP', 100)],
    'AP50': [('coco/bbox_mAP_50', 100), ('pascal_voc/AP50', 100)],
    'AP75': [('coco/bbox_mAP_75', 100), ('pascal_voc/AP75', 100)],
    'mask AP': [('coco/segm_mAP', 100)],
}
SEGMENTATION_COLUMNS = {'mIoU': [('mIoU', 1)], 'aAcc': [('aAcc', 1)], 'mAcc': [('mAcc', 1)]}
CLASSIFICATION_COLUMNS = {'top-1': [('accuracy/top1', 1)], 'top-5': [('accuracy/top5', 1)]}
# Training-free probes: (task, result file, column -> (key, scale to percent)).
PROBES = (
    ('knn', 'knn_results.json', {'k-NN top-1': ('top1', 1), 'k-NN top-5': ('top5', 1)}),
    ('davis', 'results.json', {'J&F': ('JF', 100), 'J': ('J', 100), 'F': ('F', 100)}),
)
LOGGED_TASKS = (('det', DETECTION_COLUMNS), ('seg', SEGMENTATION_COLUMNS),
                ('cls', CLASSIFICATION_COLUMNS))


def last_evaluation(work_dir: str) -> Optional[dict]:
    """The last logged evaluation of the newest run in ``work_dir``, or None.

    Args:
        work_dir: A downstream work dir (holds ``<timestamp>/vis_data/scalars.json``).

    Returns:
        dict | None: The scalars of the last step that holds a metric.
    """
    metric_keys = {key for _, cols in LOGGED_TASKS
                   for options in cols.values() for key, _ in options}
    # Timestamped run folders sort chronologically; the newest run with a metric wins.
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')),
                       reverse=True):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        evaluations = [r for r in records if metric_keys & set(r)]
        if evaluations:
            return evaluations[-1]
    return None


def _pretrain_of(work_dir: str) -> Tuple[str, str]:
    """(pre-training file, config name) of a run, read from its dumped config.

    A backbone the launcher extracted from a training checkpoint names that checkpoint
    (recorded beside it), so runs from different pre-trainings are told apart; other
    backbone files are named by their path.
    """
    from .downstream_train import provenance_path
    for config in sorted(glob.glob(osp.join(work_dir, '*.py'))):
        cfg = Config.fromfile(config)
        backbone_init = cfg.get('model', {}).get('backbone', {}).get('init_cfg') or {}
        if isinstance(backbone_init, dict) and backbone_init.get('checkpoint'):
            backbone = backbone_init['checkpoint']
            name = osp.splitext(osp.basename(config))[0]
            if osp.isfile(provenance_path(backbone)):
                with open(provenance_path(backbone)) as f:
                    record = json.load(f)
                encoder = '' if record['encoder'] == 'backbone' else f" ({record['encoder']})"
                return record['source'] + encoder, name
            return backbone, name
    return '?', osp.basename(osp.normpath(work_dir))


def _probe_row(work_dir: str) -> Optional[Dict[str, str]]:
    """The row of a k-NN or DAVIS work dir (its result file), or None."""
    for task, name, columns in PROBES:
        path = osp.join(work_dir, name)
        if not osp.isfile(path):
            continue
        with open(path) as f:
            record = json.load(f)
        if next(iter(columns.values()))[0] not in record:
            continue  # another tool's results.json
        row = dict(config=osp.splitext(osp.basename(record.get('config', '?')))[0],
                   work_dir=work_dir, pretrain=record.get('pretrain', '?'), task=task)
        if record.get('encoder', 'backbone') != 'backbone':
            row['pretrain'] += f" ({record['encoder']})"
        for column, (key, scale) in columns.items():
            if key in record:
                row[column] = f'{record[key] * scale:.1f}'
        return row
    return None


def summarise_work_dir(work_dir: str) -> Dict[str, str]:
    """One table row: config, pretrain, task and metric columns (percent, 1 decimal).

    Args:
        work_dir: A downstream work dir.

    Returns:
        dict: ``{'config', 'work_dir', 'pretrain', 'task', <metric columns>}``; ``pretrain``
        is the training checkpoint the backbone was extracted from (when the launcher
        extracted it) or the backbone file; ``task`` is
        ``'det'``, ``'seg'``, ``'cls'`` (linear probe), ``'knn'``, ``'davis'`` or ``'none'``
        (no evaluation logged yet).
    """
    probe = _probe_row(work_dir)
    if probe is not None:
        return probe
    pretrain, config = _pretrain_of(work_dir)
    row = dict(config=config, work_dir=work_dir, pretrain=pretrain, task='none')
    scalars = last_evaluation(work_dir)
    if scalars is None:
        return row
    for task, columns in LOGGED_TASKS:
        for column, options in columns.items():
            for key, scale in options:
                if key in scalars:
                    row[column] = f'{scalars[key] * scale:.1f}'
                    row['task'] = task
                    break
    return row


def results_table(work_dirs: Sequence[str]) -> str:
    """Markdown tables (detection, segmentation, linear, k-NN, DAVIS) for the model zoo.

    Args:
        work_dirs: Downstream work dirs.

    Returns:
        str: The tables; runs without an evaluation are listed after them.
    """
    rows = [summarise_work_dir(w) for w in work_dirs]
    parts: List[str] = []
    tasks = list(LOGGED_TASKS) + [(task, columns) for task, _, columns in PROBES]
    for task, columns in tasks:
        task_rows = [r for r in rows if r['task'] == task]
        if not task_rows:
            continue
        metrics = [c for c in columns if any(c in r for r in task_rows)]
        names = ['Config', 'Work dir', 'Pretrain'] + metrics
        lines = ['| ' + ' | '.join(names) + ' |', '|' + '---|' * len(names)]
        for r in task_rows:
            cells = [r['config'], r['work_dir'], r['pretrain']] + [r.get(c, '-') for c in names[3:]]
            lines.append('| ' + ' | '.join(cells) + ' |')
        parts.append('\n'.join(lines))
    pending = [r['config'] for r in rows if r['task'] == 'none']
    if pending:
        parts.append('No evaluation logged yet: ' + ', '.join(pending))
    return '\n\n'.join(parts)
