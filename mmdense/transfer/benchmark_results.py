"""Read downstream (mmdet/mmseg) work dirs and summarise their last evaluation.

MMEngine's ``LocalVisBackend`` appends one JSON object per logged step to
``<work_dir>/<timestamp>/vis_data/scalars.json``; evaluation steps carry the
metric keys (``coco/bbox_mAP``, ``pascal_voc/AP50``, ``mIoU``, ...). The command
line wrapper is ``tools/benchmarks/collect_results.py``.
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


def last_evaluation(work_dir: str) -> Optional[dict]:
    """The last logged evaluation of the newest run in ``work_dir``, or None.

    Args:
        work_dir: A downstream work dir (holds ``<timestamp>/vis_data/scalars.json``).

    Returns:
        dict | None: The scalars of the last step that holds a metric.
    """
    metric_keys = {key for cols in (DETECTION_COLUMNS, SEGMENTATION_COLUMNS)
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


def summarise_work_dir(work_dir: str) -> Dict[str, str]:
    """One table row: config, pretrain, task and metric columns (percent, 1 decimal).

    Args:
        work_dir: A downstream work dir.

    Returns:
        dict: ``{'config', 'work_dir', 'pretrain', 'task', <metric columns>}``; ``pretrain``
        is the training checkpoint the backbone was extracted from (when the launcher
        extracted it) or the backbone file; ``task`` is
        ``'det'``, ``'seg'`` or ``'none'`` (no evaluation logged yet).
    """
    pretrain, config = _pretrain_of(work_dir)
    row = dict(config=config, work_dir=work_dir, pretrain=pretrain, task='none')
    scalars = last_evaluation(work_dir)
    if scalars is None:
        return row
    for task, columns in (('det', DETECTION_COLUMNS), ('seg', SEGMENTATION_COLUMNS)):
        for column, options in columns.items():
            for key, scale in options:
                if key in scalars:
                    row[column] = f'{scalars[key] * scale:.1f}'
                    row['task'] = task
                    break
    return row


def results_table(work_dirs: Sequence[str]) -> str:
    """Markdown tables (detection, then segmentation) for the model zoo.

    Args:
        work_dirs: Downstream work dirs.

    Returns:
        str: The tables; runs without an evaluation are listed after them.
    """
    rows = [summarise_work_dir(w) for w in work_dirs]
    parts: List[str] = []
    for task, columns in (('det', DETECTION_COLUMNS), ('seg', SEGMENTATION_COLUMNS)):
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
