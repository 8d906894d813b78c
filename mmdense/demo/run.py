"""The one-command demo: pre-train on synthetic scenes, fine-tune, compare (``make demo``).

``tools/demo.py`` is a thin wrapper around :func:`main`. A scale is a config file under
``configs/demo/`` that names the pre-training configs, the fine-tuning config and the
size of the labelled split; each named config is the complete record of its runs (the
demo only sets data roots, work dirs and seeds). The steps, all on CPU:

1. Pre-train every method of the scale with its config (the unlabeled demo split is
   written on first use by the config's ``DemoUnlabeledDataset``).
2. Write the labelled ADE20K-layout split, then train mmseg's FCN with the scale's
   fine-tuning config from each pre-trained backbone and from random init, each with
   the backbone fine-tuned and frozen, all with the same seed and schedule.
3. Write ``results.md`` (markdown table), ``results.json`` and ``demo.png``
   (:mod:`mmdense.demo.plot`) to the work dir, and print the table.
"""
import argparse
import json
import os
import os.path as osp
import time
import uuid
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config

from mmdense.apis.train import train
from mmdense.datasets.demo.labelled import generate_labelled_demo_data
from mmdense.datasets.demo.scenes import generate_demo_data
from mmdense.transfer.benchmark_results import last_evaluation
from mmdense.transfer.downstream_train import (prepare_pretrained, replace_sync_bn, run_downstream,
                                               set_pretrained)
from .plot import plot_demo
from .report import PROBE_COLUMNS, aggregate_runs, probe_table, results_table

__all__ = ['SCALE_DIR', 'RANDOM_INIT', 'load_scale', 'pretrain', 'finetune', 'run_demo', 'main']

SCALE_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                     'demo')
# The row of the backbone that starts from random init.
RANDOM_INIT = 'Random init'


def load_scale(name_or_path: str) -> Config:
    """A demo scale (``'default'``, ``'quick'`` or a path) with its config paths made absolute.

    Returns:
        Config: ``name``, ``pretrain`` (row name -> config path), ``finetune`` (config
        path) and ``labelled`` (``num_train``, ``num_val``, ``image_size``).
    """
    path = name_or_path if name_or_path.endswith('.py') else osp.join(SCALE_DIR,
                                                                      f'{name_or_path}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'demo scale {name_or_path!r}: no file {path}; the scales are '
            f'{sorted(f[:-3] for f in os.listdir(SCALE_DIR) if f.endswith(".py"))}.')
    scale = Config.fromfile(path)
    here = osp.dirname(osp.abspath(path))
    for key in ('name', 'pretrain', 'finetune', 'labelled'):
        if key not in scale:
            raise KeyError(f'{path}: a demo scale needs `{key}`.')
    scale.pretrain = {row: osp.normpath(osp.join(here, p)) for row, p in scale.pretrain.items()}
    scale.finetune = osp.normpath(osp.join(here, scale.finetune))
    return scale


def _stage(message: str) -> None:
    """A header between the Runners' logs, so a reader sees where the demo is."""
    print(f'\n===== [demo] {message} =====', flush=True)


def _unique_name(tag: str) -> str:
    # mmengine keeps loggers, message hubs and visualizers per name for the whole
    # process: a reused name would log into the previous run's files.
    return f'demo_{tag}_{uuid.uuid4().hex[:8]}'


def pretrain(config: str, data_root: str, work_dir: str, seed: int, data_seed: int) -> str:
    """Pre-train with ``config`` on the unlabeled demo split under ``data_root``.

    Args:
        config: A demo pre-training config (its dataset a ``DemoUnlabeledDataset``).
        data_root: Root holding (or receiving) ``unlabeled/``.
        work_dir: Runner work dir.
        seed: Seed of the training run.
        data_seed: Seed of the generated images.

    Returns:
        str: Path of the last training checkpoint (``epoch_<N>.pth``).
    """
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.dataset.seed': data_seed,
        'randomness.seed': seed,
        'experiment_name': _unique_name('pretrain'),
        'visualizer.name': _unique_name('pretrain_vis'),
    })
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    train(cfg)
    return osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')


def finetune(config: str, checkpoint: Optional[str], ade_root: str, work_dir: str, seed: int,
             frozen: bool = False) -> dict:
    """Fine-tune with ``config`` on the labelled ADE20K-layout split and return its evaluation.

    Args:
        config: A demo fine-tuning config (mmseg, ADE20K layout).
        checkpoint: Pre-training checkpoint (or a backbone file already extracted
            from one) whose backbone initialises the model, or None for random init.
        ade_root: The ``ADEChallengeData2016`` folder.
        work_dir: Runner work dir.
        seed: Random seed (the same for every start, so the heads start identical).
        frozen: Keep the whole backbone fixed (``frozen_stages=4``: weights and BN
            statistics) and train the heads only, which measures the pre-trained
            features themselves rather than how well they initialise training.

    Returns:
        dict: ``mIoU`` and ``aAcc`` (percent), ``finetune_s`` (wall time of training
        and evaluation), ``backbone`` (the loaded file or None) and ``checkpoint`` (the
        fine-tuned model file).
    """
    cfg = Config.fromfile(config)
    options = {
        'randomness.seed': seed,
        'experiment_name': _unique_name('finetune'),
        'visualizer.name': _unique_name('finetune_vis'),
    }
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.data_root'] = ade_root
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    if frozen:
        cfg.model.backbone.frozen_stages = 4
    replace_sync_bn(cfg)  # one CPU process: plain BN, as mmengine would revert it to
    os.makedirs(work_dir, exist_ok=True)
    backbone = None
    if checkpoint is None:
        cfg.model.backbone.init_cfg = None  # mmseg's default (Kaiming) initialisation
    else:
        backbone = prepare_pretrained(checkpoint, work_dir)
        set_pretrained(cfg, backbone)
    start = time.perf_counter()
    run_downstream(cfg)
    seconds = time.perf_counter() - start
    metrics = last_evaluation(work_dir)
    if metrics is None or 'mIoU' not in metrics:
        raise RuntimeError(f'The fine-tune in {work_dir} logged no mIoU; see its log.')
    return dict(mIoU=float(metrics['mIoU']), aAcc=float(metrics['aAcc']), finetune_s=seconds,
                backbone=backbone,
                checkpoint=osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth'))


def run_demo(work_dir: str = 'work_dirs/demo', data_root: str = 'data/demo',
             scale: str = 'default', seed: int = 0, num_threads: Optional[int] = None,
             runs: int = 1) -> dict:
    """Run the whole demo and write ``results.md``, ``results.json`` and ``demo.png``.

    Args:
        work_dir: Output folder.
        data_root: Demo data folder; this scale's data goes to ``data_root/<scale>/``.
        scale: ``'default'``, ``'quick'`` (the smallest, for tests) or a scale file.
        seed: Seed of data, pre-training and fine-tuning.
        num_threads: ``torch.set_num_threads`` for the run; None keeps torch's default
            (one per core). On a machine whose cores are busy with other work, 1 is
            several times faster: intra-op threads wait for each other's time slices.
        runs: Independent repeats: run ``r`` pre-trains and fine-tunes every method
            with seed ``seed + r`` (the data stays that of ``seed``) under
            ``work_dir/run<r>/``; the table then gives means and standard deviations.

    Returns:
        dict: The content of ``results.json``: ``rows`` (one dict per table row, with
        the backbone file and checkpoints used; with several runs, the aggregated row
        holding each run's row under ``runs``), ``table``, ``seed``, ``runs``,
        ``threads``, ``scale`` and ``total_s``.
    """
    if runs < 1:
        raise ValueError(f'runs must be at least 1, got {runs}.')
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _run_demo(work_dir, data_root, load_scale(scale), seed, runs)
    finally:
        torch.set_num_threads(previous_threads)  # callers (tests) keep their setting


def _run_demo(work_dir: str, data_root: str, scale: Config, seed: int, runs: int) -> dict:
    """:func:`run_demo` after the thread set-up."""
    start = time.perf_counter()
    work_dir, root = osp.abspath(work_dir), osp.abspath(osp.join(data_root, scale.name))
    os.makedirs(work_dir, exist_ok=True)
    # The data first, so that no run's pre-training time includes writing it (the configs'
    # DemoUnlabeledDataset would otherwise write the split on first use).
    _stage(f'scale {scale.name!r}: writing the demo data under {root} (if missing)')
    for config in scale.pretrain.values():
        dataset = Config.fromfile(config).train_dataloader.dataset
        generate_demo_data(root, dataset.num_images, dataset.image_size, seed)
    ade_root = generate_labelled_demo_data(osp.join(root, 'labelled'), ('ade20k', ),
                                           seed=seed, **scale.labelled)['ade20k']
    per_run = [
        _run_once(root, ade_root, work_dir if runs == 1 else osp.join(work_dir, f'run{run}'),
                  scale, seed + run, seed) for run in range(runs)
    ]
    rows = per_run[0] if runs == 1 else aggregate_runs(per_run)

    _stage('report: results.md, results.json, demo.png')
    table = results_table(rows, seed, runs)
    probes = probe_table(rows)
    if probes:
        table += '\n\n' + probes
    # The plot shows the first run's loss curves and backbones; the methods' demo configs
    # share the backbone architecture and normalisation, so the first one stands for all.
    plot_demo(Config.fromfile(next(iter(scale.pretrain.values()))),
              {row['method']: osp.dirname(row['pretrain_checkpoint']) for row in per_run[0]
               if row['pretrain_checkpoint'] is not None},
              {row['method']: row['backbone'] for row in per_run[0]},
              osp.join(work_dir, 'demo.png'), seed)
    results = dict(rows=rows, table=table, seed=seed, runs=runs, threads=torch.get_num_threads(),
                   scale=scale.to_dict(), total_s=time.perf_counter() - start)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    print(table)
    print(f"Total wall time {results['total_s']:.0f} s; results.md, results.json and demo.png "
          f'in {work_dir}')
    return results


def _run_once(root: str, ade_root: str, work_dir: str, scale: Config, seed: int,
              data_seed: int) -> List[dict]:
    """Pre-train every method and run both transfer protocols from every start, once.

    Returns:
        list[dict]: The table rows of this run (with the files each used).
    """
    checkpoints, pretrain_s = {}, {}
    for name, config in scale.pretrain.items():
        _stage(f'seed {seed}: pre-training {name} ({osp.relpath(config)})')
        tic = time.perf_counter()
        checkpoints[name] = pretrain(config, root, osp.join(work_dir, 'pretrain', _slug(name)),
                                     seed, data_seed)
        pretrain_s[name] = time.perf_counter() - tic
    rows = []
    for name in [*scale.pretrain, RANDOM_INIT]:
        _stage(f'seed {seed}: transfer from {name}, fine-tuned and with the backbone frozen')
        result = finetune(scale.finetune, checkpoints.get(name), ade_root,
                          osp.join(work_dir, 'finetune', _slug(name)), seed)
        # The backbone file the first run extracted (None for random init): not again.
        frozen = finetune(scale.finetune, result['backbone'], ade_root,
                          osp.join(work_dir, 'frozen', _slug(name)), seed, frozen=True)
        rows.append(dict(method=name, pretrain_s=pretrain_s.get(name),
                         pretrain_checkpoint=checkpoints.get(name),
                         probes=_probes(checkpoints.get(name)), **result,
                         frozen={k: frozen[k] for k in ('mIoU', 'aAcc', 'finetune_s',
                                                        'checkpoint')}))
    return rows


def _probes(checkpoint: Optional[str]) -> dict:
    """(first, last) value of each probe of the pre-training run that wrote ``checkpoint``
    (its FrozenProbeHook: the initialisation, then the trained backbone); {} without."""
    if checkpoint is None:
        return {}
    from mmdense.analysis.training_curves import curves, read_scalars
    series = curves(read_scalars(osp.dirname(checkpoint)))
    return {key: (series[f'probe/{key}'][1][0], series[f'probe/{key}'][1][-1])
            for key in PROBE_COLUMNS if f'probe/{key}' in series}


def _slug(row: str) -> str:
    """Folder of a table row: ``'MoCo v2'`` -> ``'mocov2'``, ``'Random init'`` -> ``'random'``."""
    return 'random' if row == RANDOM_INIT else row.lower().replace(' ', '')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run ``tools/demo.py``.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        dict: The results (see :func:`run_demo`).
    """
    parser = argparse.ArgumentParser(
        description='Pre-train DenseCL and MoCo v2 on the synthetic demo data, fine-tune '
        'FCN-R18 from each and from random init, and tabulate mIoU.')
    parser.add_argument('--work-dir', default='work_dirs/demo', help='output folder')
    parser.add_argument('--data-root', default='data/demo', help='demo data folder')
    parser.add_argument('--scale', default='default',
                        help='a scale under configs/demo/ (default, quick) or a scale file')
    parser.add_argument('--quick', action='store_true',
                        help='the smallest scale (--scale quick, about a minute): checks the '
                        'pipeline, the numbers mean nothing')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data and of the first run')
    parser.add_argument('--runs', type=int, default=1,
                        help='independent repeats with seeds seed, seed+1, ...: the table '
                        'gives mean ± standard deviation (each run takes the time of one)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: one per core); 1 is faster when '
                        'other jobs share the cores')
    args = parser.parse_args(argv)
    scale = 'quick' if args.quick else args.scale
    return run_demo(args.work_dir, args.data_root, scale, args.seed, args.threads, args.runs)
