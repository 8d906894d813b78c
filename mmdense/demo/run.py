"""The one-command demo: pre-train on synthetic scenes, probe, fine-tune, judge (``make demo``).

``tools/demo.py`` is a thin wrapper around :func:`main`. A scale is a config file under
``configs/demo/`` that names the pre-training configs, the fine-tuning config, the transfer
protocols, the number of runs, the size of the labelled split and the verdict's headline;
each named config is the complete record of its runs (the demo only sets data roots, work
dirs and seeds). The steps, all on CPU, each run with its own seed:

1. Write the demo data: the unlabeled scenes, the probes' data (k-NN folder, DAVIS clips)
   and the labelled ADE20K-layout split.
2. Pre-train every method of the scale with its config; its ``FrozenProbeHook`` probes the
   backbone before training, during it and at the end. Probe a random-init backbone.
3. Train mmseg's FCN with the scale's fine-tuning config from each pre-trained backbone and
   from random init, under each protocol (fine-tuned, frozen backbone).
4. Write ``results.md`` (table and verdict: :mod:`mmdense.demo.verdict`), ``results.json``
   and ``demo.png`` (:mod:`mmdense.demo.plot`) to the work dir, and print them.

Steps 2 and 3 are independent jobs, run side by side in one-thread processes
(:mod:`mmdense.demo.jobs`).
"""
import argparse
import copy
import json
import os
import os.path as osp
import time
import uuid
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import Config

from mmdense.apis.train import train
from mmdense.datasets.demo.labelled import generate_labelled_demo_data
from mmdense.datasets.demo.scenes import generate_demo_data
from mmdense.transfer.benchmark_results import last_evaluation
from mmdense.transfer.downstream_train import (prepare_pretrained, replace_sync_bn, run_downstream,
                                               set_pretrained)
from .jobs import Job, run_jobs
from .plot import plot_demo
from .report import PROBE_COLUMNS, aggregate_runs, probe_table, results_table
from .verdict import verdict_lines

__all__ = ['SCALE_DIR', 'RANDOM_INIT', 'load_scale', 'pretrain', 'finetune', 'run_demo', 'main']

SCALE_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                     'demo')
# The row of the backbone that starts from random init.
RANDOM_INIT = 'Random init'
# Transfer protocol -> folder of its runs.
PROTOCOL_DIRS = {'fine-tuned': 'finetune', 'frozen': 'frozen'}
# Probe data paths of the demo configs that the demo moves under its --data-root.
PROBE_DATA_PREFIX = 'data/demo_probes'


def load_scale(name_or_path: str) -> Config:
    """A demo scale (``'default'``, ``'long'``, ``'quick'`` or a path), its config paths made
    absolute.

    Returns:
        Config: ``name``, ``pretrain`` (row name -> config path), ``finetune`` (config
        path), ``protocols`` (of ``'fine-tuned'``, ``'frozen'``; default the first only),
        ``runs`` (default 1), ``labelled`` (``num_train``, ``num_val``, ``image_size``),
        and optionally ``random_init_from`` and ``verdict``
        (:func:`mmdense.demo.verdict.verdict_lines`).
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
    scale.protocols = list(scale.get('protocols', ['fine-tuned']))
    unknown = [p for p in scale.protocols if p not in PROTOCOL_DIRS]
    if unknown or 'fine-tuned' not in scale.protocols:
        raise KeyError(f'{path}: `protocols` must list \'fine-tuned\' and optionally '
                       f"'frozen'; got {scale.protocols}.")
    if scale.get('random_init_from', next(iter(scale.pretrain))) not in scale.pretrain:
        raise KeyError(f'{path}: `random_init_from` must name a row of `pretrain` '
                       f'({list(scale.pretrain)}); got {scale.random_init_from!r}.')
    return scale


def _stage(message: str) -> None:
    """A header between the Runners' logs, so a reader sees where the demo is."""
    print(f'\n===== [demo] {message} =====', flush=True)


def _unique_name(tag: str) -> str:
    # mmengine keeps loggers, message hubs and visualizers per name for the whole
    # process: a reused name would log into the previous run's files.
    return f'demo_{tag}_{uuid.uuid4().hex[:8]}'


def _rebase_probe_data(cfg: Config, probes_root: Optional[str]) -> None:
    """Move the demo probes' data (paths under ``data/demo_probes``) to ``probes_root``."""
    if probes_root is None:
        return
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') != 'FrozenProbeHook':
            continue
        for probe in hook['probes']:
            for key in ('data_root', 'davis_root', 'image_dir'):
                path = probe.get(key)
                if isinstance(path, str) and path.startswith(PROBE_DATA_PREFIX):
                    probe[key] = probes_root + path[len(PROBE_DATA_PREFIX):]


def probe_configs(cfg: Config, probes_root: Optional[str] = None) -> List[dict]:
    """The probes of the ``FrozenProbeHook`` of a loaded pre-training config ([] without one),
    their demo data moved under ``probes_root`` (``cfg`` itself is not changed)."""
    cfg = copy.deepcopy(cfg)
    _rebase_probe_data(cfg, probes_root)
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'FrozenProbeHook':
            return [dict(p) for p in hook['probes']]
    return []


def pretrain(config: str, data_root: str, work_dir: str, seed: int, data_seed: int,
             probes_root: Optional[str] = None) -> dict:
    """Pre-train with ``config`` on the unlabeled demo split under ``data_root``.

    Args:
        config: A demo pre-training config (its dataset a ``DemoUnlabeledDataset``).
        data_root: Root holding (or receiving) ``unlabeled/``.
        work_dir: Runner work dir.
        seed: Seed of the training run.
        data_seed: Seed of the generated images.
        probes_root: Where the config's probe data (``data/demo_probes/...``) lives
            instead (None: as configured).

    Returns:
        dict: ``checkpoint`` (the last training checkpoint, ``epoch_<N>.pth``),
        ``pretrain_s`` (wall time) and ``probes`` (probe key -> (value at initialisation,
        value at the end); {} without probes).
    """
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.dataset.seed': data_seed,
        'randomness.seed': seed,
        'experiment_name': _unique_name('pretrain'),
        'visualizer.name': _unique_name('pretrain_vis'),
    })
    _rebase_probe_data(cfg, probes_root)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    start = time.perf_counter()
    train(cfg)
    checkpoint = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    return dict(checkpoint=checkpoint, pretrain_s=time.perf_counter() - start,
                probes=_probes(checkpoint))


def probe_random_init(config: str, seed: int, probes_root: Optional[str] = None) -> dict:
    """The probes of ``config``'s FrozenProbeHook on its backbone at initialisation.

    The backbone is built from ``config`` and initialised (``init_weights``) after
    ``torch.manual_seed(seed)``: what the pre-training of that config starts from, and, for
    mmdet's ResNet, the Kaiming fan-out scheme of mmseg's own random-init backbone.

    Returns:
        dict: ``probes`` (key -> (value, value), the form of a pre-training row's (init,
        end)) and ``probe_s`` (wall time).
    """
    from mmdense.registry import MODELS, PROBES
    from mmdense.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    probes = probe_configs(cfg, probes_root)
    if not probes:
        raise KeyError(f'{config}: no FrozenProbeHook in custom_hooks, so the random-init '
                       'row has no probes to run; name a config with one in the scale\'s '
                       '`random_init_from`.')
    start = time.perf_counter()
    torch.manual_seed(seed)
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    results = {}
    for probe in probes:
        results.update(PROBES.build(probe)(backbone))
    return dict(probes={k: (float(v), float(v)) for k, v in results.items()},
                probe_s=time.perf_counter() - start)


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


def default_jobs() -> int:
    """Processes side by side: one per core, at most 2 (the demo's job graph has little more
    parallelism early on, and each process holds its own copy of the data)."""
    return max(1, min(2, os.cpu_count() or 1))


def run_demo(work_dir: str = 'work_dirs/demo', data_root: str = 'data/demo',
             scale: str = 'default', seed: int = 0, num_threads: Optional[int] = None,
             runs: Optional[int] = None, jobs: Optional[int] = None) -> dict:
    """Run the whole demo and write ``results.md``, ``results.json`` and ``demo.png``.

    Args:
        work_dir: Output folder.
        data_root: Demo data folder; this scale's data goes to ``data_root/<scale>/``, the
            probes' to ``data_root/probes/``.
        scale: ``'default'``, ``'long'``, ``'quick'`` (the smallest, for tests) or a scale file.
        seed: Seed of data, pre-training and fine-tuning.
        num_threads: torch threads of each job; None: 1 when jobs run side by side, else
            torch's default (one per core).
        runs: Independent repeats (None: the scale's ``runs``): run ``r`` pre-trains and
            fine-tunes every method with seed ``seed + r`` (the data stays that of
            ``seed``) under ``work_dir/run<r>/``; the table then gives means and standard
            deviations, and the verdict tests the differences.
        jobs: Trainings side by side, each in its own process (None: one per core, at most
            2); 1 runs everything in this process, one after the other.

    Returns:
        dict: The content of ``results.json``: ``rows`` (one dict per table row, with
        the backbone file and checkpoints used; with several runs, the aggregated row
        holding each run's row under ``runs``), ``table``, ``seed``, ``runs``, ``jobs``,
        ``threads``, ``scale`` and ``total_s``.
    """
    scale_cfg = load_scale(scale)
    runs = scale_cfg.get('runs', 1) if runs is None else runs
    if runs < 1:
        raise ValueError(f'runs must be at least 1, got {runs}.')
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f'jobs must be at least 1, got {jobs}.')
    previous_threads = torch.get_num_threads()
    if num_threads is None and jobs > 1:
        num_threads = 1
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _run_demo(work_dir, data_root, scale_cfg, seed, runs, jobs)
    finally:
        torch.set_num_threads(previous_threads)  # callers (tests) keep their setting


def _run_demo(work_dir: str, data_root: str, scale: Config, seed: int, runs: int,
              jobs: int) -> dict:
    """:func:`run_demo` after the thread set-up."""
    start = time.perf_counter()
    work_dir, root = osp.abspath(work_dir), osp.abspath(osp.join(data_root, scale.name))
    probes_root = osp.abspath(osp.join(data_root, 'probes'))
    os.makedirs(work_dir, exist_ok=True)
    # The data first, so that no run's time includes writing it, and so that jobs running
    # side by side never write the same files.
    _stage(f'scale {scale.name!r}: writing the demo data under {root} and {probes_root} '
           '(if missing)')
    for config in scale.pretrain.values():
        cfg = Config.fromfile(config)
        dataset = cfg.train_dataloader.dataset
        generate_demo_data(root, dataset.num_images, dataset.image_size, seed)
        _write_probe_data(cfg, probes_root)
    ade_root = generate_labelled_demo_data(osp.join(root, 'labelled'), ('ade20k', ),
                                           seed=seed, **scale.labelled)['ade20k']
    graph = _job_graph(scale, root, ade_root, probes_root, work_dir, seed, runs)
    _stage(f'{len(graph)} jobs ({runs} run(s) of {len(scale.pretrain)} pre-trainings, the '
           f'random-init probes and {len(scale.protocols)} transfer protocol(s) from '
           f'{len(scale.pretrain) + 1} starts), {jobs} at a time'
           + (', each logging to job.log in its work dir' if jobs > 1 else ''))
    done = []

    def report(key, job, seconds):
        done.append(key)
        _stage(f'done {len(done)}/{len(graph)}: {job.title} ({seconds:.0f} s)')

    results = run_jobs(graph, jobs, on_done=report)
    per_run = [_rows(scale, results, run) for run in range(runs)]
    rows = per_run[0] if runs == 1 else aggregate_runs(per_run)

    _stage('report: results.md, results.json, demo.png')
    table = results_table(rows, seed, runs)
    verdict = scale.get('verdict')
    if verdict is not None:
        table += '\n\n' + '\n'.join(verdict_lines(rows, verdict))
    probes = probe_table(rows)
    if probes:
        table += '\n\n' + probes
    # The plot shows the first run's backbones and every run's loss and probe curves; the
    # methods' demo configs share the backbone architecture and normalisation, so the
    # first one stands for all.
    plot_demo(Config.fromfile(next(iter(scale.pretrain.values()))),
              {row['method']: [osp.dirname(r['pretrain_checkpoint']) for r in
                               row.get('runs', [row])]
               for row in rows if row['pretrain_checkpoint'] is not None},
              {row['method']: row['backbone'] for row in per_run[0]},
              osp.join(work_dir, 'demo.png'), seed,
              baselines={row['method']: row['probes'] for row in rows
                         if row['pretrain_s'] is None and row.get('probes')})
    results = dict(rows=rows, table=table, seed=seed, runs=runs, jobs=jobs,
                   threads=torch.get_num_threads(), scale=scale.to_dict(),
                   total_s=time.perf_counter() - start)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    print(table)
    print(f"Total wall time {results['total_s']:.0f} s; results.md, results.json and demo.png "
          f'in {work_dir}')
    return results


def _write_probe_data(cfg: Config, probes_root: str) -> None:
    """Build the config's probes once here, which writes their demo data (and checks it)."""
    from mmdense.registry import PROBES
    from mmdense.utils import register_all_modules
    register_all_modules()
    for probe in probe_configs(cfg, probes_root):
        PROBES.build(probe)


def _job_graph(scale: Config, root: str, ade_root: str, probes_root: str, work_dir: str,
               seed: int, runs: int) -> Dict[tuple, Job]:
    """Every job of the demo, in the order the pool starts them when it can: the pre-trainings
    (which bound the run time) first, then the random-init probes, then the transfers."""
    graph: Dict[tuple, Job] = {}
    run_dirs = [work_dir if runs == 1 else osp.join(work_dir, f'run{run}') for run in range(runs)]
    for run, run_dir in enumerate(run_dirs):
        for name in scale.pretrain:
            out = osp.join(run_dir, 'pretrain', _slug(name))
            graph[('pretrain', run, name)] = Job(
                pretrain, dict(config=scale.pretrain[name], data_root=root, work_dir=out,
                               seed=seed + run, data_seed=seed, probes_root=probes_root),
                title=f'seed {seed + run}: pre-training {name} '
                f'({osp.relpath(scale.pretrain[name])})',
                log=osp.join(out, 'job.log'))
    random_config = scale.pretrain[scale.get('random_init_from', next(iter(scale.pretrain)))]
    for run, run_dir in enumerate(run_dirs):
        graph[('probes', run, RANDOM_INIT)] = Job(
            probe_random_init, dict(config=random_config, seed=seed + run,
                                    probes_root=probes_root),
            title=f'seed {seed + run}: probes of random init',
            log=osp.join(run_dir, 'probes', 'random', 'job.log'))
    for name in [RANDOM_INIT, *scale.pretrain]:
        for run, run_dir in enumerate(run_dirs):
            for protocol in scale.protocols:
                out = osp.join(run_dir, PROTOCOL_DIRS[protocol], _slug(name))
                job = Job(finetune, dict(config=scale.finetune, checkpoint=None,
                                         ade_root=ade_root, work_dir=out, seed=seed + run,
                                         frozen=protocol == 'frozen'),
                          title=f'seed {seed + run}: transfer from {name}, {protocol}',
                          log=osp.join(out, 'job.log'))
                if name != RANDOM_INIT:
                    job.after, job.bind = ('pretrain', run, name), dict(checkpoint='checkpoint')
                graph[('transfer', run, name, protocol)] = job
    return graph


def _rows(scale: Config, results: dict, run: int) -> List[dict]:
    """The table rows of run ``run`` from the jobs' results."""
    rows = []
    for name in [*scale.pretrain, RANDOM_INIT]:
        pre = results.get(('pretrain', run, name))
        tuned = results[('transfer', run, name, 'fine-tuned')]
        row = dict(method=name, pretrain_s=None if pre is None else pre['pretrain_s'],
                   pretrain_checkpoint=None if pre is None else pre['checkpoint'],
                   probes=(pre or results[('probes', run, name)])['probes'], **tuned)
        if 'frozen' in scale.protocols:
            frozen = results[('transfer', run, name, 'frozen')]
            row['frozen'] = {k: frozen[k] for k in ('mIoU', 'aAcc', 'finetune_s', 'checkpoint')}
        rows.append(row)
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
        description='Pre-train DenseCL, MoCo v2 and PixPro on the synthetic demo data, probe '
        'the frozen features, fine-tune FCN-R18 from each and from random init, over several '
        'seeds, and state whether pre-training helped.')
    parser.add_argument('--work-dir', default='work_dirs/demo', help='output folder')
    parser.add_argument('--data-root', default='data/demo', help='demo data folder')
    parser.add_argument('--scale', default='default',
                        help='a scale under configs/demo/ (default, long, quick) or a scale file')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--quick', action='store_true',
                       help='the smallest scale (--scale quick, about a minute): checks the '
                       'pipeline, the numbers mean nothing')
    group.add_argument('--long', action='store_true',
                       help='the long scale (--scale long, about an hour): 40 pre-training '
                       'epochs, 300 FCN iterations, both transfer protocols')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data and of the first run')
    parser.add_argument('--runs', type=int, default=None,
                        help="independent repeats with seeds seed, seed+1, ... (default: the "
                        "scale's, 3 for default and long): mean ± standard deviation and the "
                        'verdict\'s tests')
    parser.add_argument('--jobs', type=int, default=None,
                        help='trainings side by side, one process each (default: one per '
                        'core, at most 2); 1 runs everything in this process')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads per job (default: 1 when jobs run side by '
                        'side, else one per core)')
    args = parser.parse_args(argv)
    scale = 'quick' if args.quick else 'long' if args.long else args.scale
    return run_demo(args.work_dir, args.data_root, scale, args.seed, args.threads, args.runs,
                    args.jobs)
