"""The one-command demo: pre-train on synthetic scenes, fine-tune, compare (``make demo``).

``tools/demo.py`` is a thin wrapper around :func:`main`. The steps, all on CPU:

1. Write the unlabeled demo split (:func:`~mmdense.datasets.generate_demo_data`) and
   an ADE20K-layout labelled split (:mod:`mmdense.datasets.labelled_demo_data`)
   under ``data_root/<scale>/`` unless they are already there.
2. Pre-train DenseCL and MoCo v2 (ResNet-18) on the unlabeled split with the demo
   configs ``configs/{densecl,mocov2}/*_r18_demo.py``, resized by config overrides.
3. Train mmseg's FCN-R18 (``configs/benchmarks/mmseg/fcn_r18-d8_1xb4-20it_demo-
   ade20k-64x64.py``) on the labelled split from (a) the DenseCL backbone, (b) the
   MoCo v2 backbone, (c) random init, with the same seed and schedule.
4. Write ``results.md`` (markdown table), ``results.json`` and ``demo.png``
   (pre-training loss curves and the dense similarity map of one image) to the
   work dir, and print the table.
"""
import argparse
import glob
import json
import os
import os.path as osp
import time
import uuid
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config

from mmdense.datasets.demo_data import OBJECT_CATEGORIES, generate_demo_data
from mmdense.datasets.labelled_demo_data import (generate_labelled_demo_data,
                                                 render_labelled_scene)
from .benchmark_results import last_evaluation
from .downstream_train import prepare_pretrained, replace_sync_bn, run_downstream, set_pretrained
from .train import train

__all__ = ['DemoScale', 'SCALES', 'METHODS', 'pretrain', 'finetune', 'results_table',
           'aggregate_runs', 'similarity_map', 'plot_demo', 'run_demo', 'main']

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAIN_CONFIGS = {
    'densecl': osp.join(REPO, 'configs', 'densecl', 'densecl_r18_demo.py'),
    'mocov2': osp.join(REPO, 'configs', 'mocov2', 'mocov2_r18_demo.py'),
}
FINETUNE_CONFIG = osp.join(REPO, 'configs', 'benchmarks', 'mmseg',
                           'fcn_r18-d8_1xb4-20it_demo-ade20k-64x64.py')
# Table row name -> pre-training method (None: the backbone starts from random init).
METHODS = {'DenseCL': 'densecl', 'MoCo v2': 'mocov2', 'Random init': None}
# The demo pre-training configs' normalisation (ImageNet mean/std, BGR files read as RGB).
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


class DemoScale(NamedTuple):
    """Sizes of one demo run."""
    num_unlabeled: int  # pre-training images
    unlabeled_size: int  # their side (pixels); pre-training crops are 64x64
    pretrain_batch: int
    pretrain_epochs: int
    pretrain_lr: float
    pretrain_momentum: float  # key-encoder EMA coefficient
    num_train: int  # labelled training images (64x64)
    num_val: int  # labelled validation images
    finetune_iters: int  # at batch 4
    finetune_lr: float
    log_interval: int


SCALES = {
    # Smallest end-to-end run, for tests: every step runs, the numbers mean nothing.
    'quick': DemoScale(num_unlabeled=8, unlabeled_size=96, pretrain_batch=4, pretrain_epochs=2,
                       pretrain_lr=0.03 * 4 / 256, pretrain_momentum=0.99, num_train=8,
                       num_val=4, finetune_iters=4, finetune_lr=0.01, log_interval=1),
    # pretrain_lr: 8x the configs' linear rule (0.03 per 256), because 320 iterations
    # are a tiny fraction of the reference 200 epochs and the linear-rule rate barely
    # moves the weights in that time. finetune_lr: 5x the FCN config's 0.01, with which
    # 300 iterations learned only the background for every initialisation (23 mIoU).
    'default': DemoScale(num_unlabeled=256, unlabeled_size=96, pretrain_batch=16,
                         pretrain_epochs=20, pretrain_lr=0.015, pretrain_momentum=0.99,
                         num_train=96, num_val=48, finetune_iters=300, finetune_lr=0.05,
                         log_interval=4),
}


def _unique_name(tag: str) -> str:
    # mmengine keeps loggers, message hubs and visualizers per name for the whole
    # process: a reused name would log into the previous run's files.
    return f'demo_{tag}_{uuid.uuid4().hex[:8]}'


def pretrain(method: str, data_root: str, work_dir: str, scale: DemoScale, seed: int) -> str:
    """Pre-train ``method`` on the unlabeled split with its demo config.

    Args:
        method: ``'densecl'`` or ``'mocov2'``.
        data_root: Root holding (or receiving) ``unlabeled/``.
        work_dir: Runner work dir.
        scale: Demo sizes.
        seed: Random seed.

    Returns:
        str: Path of the last training checkpoint (``epoch_<N>.pth``).
    """
    cfg = Config.fromfile(PRETRAIN_CONFIGS[method])
    epochs, batch = scale.pretrain_epochs, scale.pretrain_batch
    iters_per_epoch = scale.num_unlabeled // batch
    if iters_per_epoch < 1:
        raise ValueError(f'num_unlabeled={scale.num_unlabeled} is smaller than one batch '
                         f'({batch}); raise it or lower pretrain_batch.')
    options = {
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.dataset.num_images': scale.num_unlabeled,
        'train_dataloader.dataset.image_size': scale.unlabeled_size,
        'train_dataloader.batch_size': batch,
        # The demo shares two cores with the main process; workers would only contend.
        'train_dataloader.num_workers': 0,
        # Four batches, as in the demo configs: a longer queue would hold the batch's
        # own images as negatives at this data size.
        'model.queue_len': 4 * batch,
        # The key encoder's EMA time constant, 1 / (1 - m), must be short against the
        # run: 0.999 (1000 iterations) would leave it near its random init for the
        # whole demo. 0.99 is the value the MoCo paper also reports as working.
        'model.momentum': scale.pretrain_momentum,
        'optim_wrapper.optimizer.lr': scale.pretrain_lr,
        'train_cfg.max_epochs': epochs,
        'param_scheduler': [dict(type='CosineAnnealingLR', T_max=epochs, by_epoch=True,
                                 begin=0, end=epochs)],
        'default_hooks.checkpoint': dict(type='CheckpointHook', interval=epochs,
                                         max_keep_ckpts=1),
        'default_hooks.logger.interval': scale.log_interval,
        'randomness.seed': seed,
        'experiment_name': _unique_name(method),
        'visualizer.name': _unique_name(f'{method}_vis'),
    }
    if method == 'densecl':
        # One epoch of global-only warm-up, as the demo config (its 1000 iterations scaled).
        options['custom_hooks'] = [dict(type='DenseCLWarmupHook', start_iters=iters_per_epoch)]
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    train(cfg)
    return osp.join(work_dir, f'epoch_{epochs}.pth')


def finetune(checkpoint: Optional[str], ade_root: str, work_dir: str, scale: DemoScale,
             seed: int, frozen: bool = False) -> dict:
    """Fine-tune FCN-R18 on the labelled ADE20K-layout split and return its evaluation.

    Args:
        checkpoint: Pre-training checkpoint (or a backbone file already extracted
            from one) whose backbone initialises the model, or None for random init.
        ade_root: The ``ADEChallengeData2016`` folder.
        work_dir: Runner work dir.
        scale: Demo sizes.
        seed: Random seed (the same for every run, so the heads start identical).
        frozen: Keep the whole backbone fixed (``frozen_stages=4``: weights and BN
            statistics) and train the heads only, which measures the pre-trained
            features themselves rather than how well they initialise training.

    Returns:
        dict: ``mIoU`` and ``aAcc`` (percent), ``finetune_s`` (wall time of training
        and evaluation), ``backbone`` (the loaded file or None) and ``checkpoint`` (the
        fine-tuned model file).
    """
    cfg = Config.fromfile(FINETUNE_CONFIG)
    iters = scale.finetune_iters
    options = {
        'train_cfg.max_iters': iters,
        'optim_wrapper.optimizer.lr': scale.finetune_lr,
        'train_cfg.val_interval': iters,
        'param_scheduler': [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=iters,
                                 by_epoch=False)],
        'default_hooks.checkpoint': dict(type='CheckpointHook', by_epoch=False, interval=iters,
                                         max_keep_ckpts=1),
        'default_hooks.logger.interval': scale.log_interval,
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
                backbone=backbone, checkpoint=osp.join(work_dir, f'iter_{iters}.pth'))


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
        rows.append(row)
    return rows


def _load_resnet18(backbone_file: Optional[str], seed: int) -> torch.nn.Module:
    """An mmdet ResNet-18 returning C5, from a backbone file or random init."""
    from mmdet.models.backbones import ResNet
    torch.manual_seed(seed)
    model = ResNet(depth=18, out_indices=(3, ))
    if backbone_file is None:
        model.init_weights()
    else:
        state = torch.load(backbone_file, map_location='cpu')['state_dict']
        model.load_state_dict(state)
    model.eval()  # mmdet's ResNet.train() returns None, so no chaining
    return model


def similarity_map(backbone_file: Optional[str], image: np.ndarray, query: tuple,
                   seed: int = 0) -> np.ndarray:
    """Cosine similarity of one C5 cell of a ResNet-18 to every C5 cell of ``image``.

    Args:
        backbone_file: Extracted backbone (mmdet layout), or None for random init.
        image: BGR uint8 image (H, W, 3).
        query: (row, col) of the query cell in the C5 grid (H/32, W/32).
        seed: Seed of the random init (used when ``backbone_file`` is None).

    Returns:
        np.ndarray: (H/32, W/32) similarities, in [0, 1] because C5 follows a ReLU;
        1 at ``query``.
    """
    model = _load_resnet18(backbone_file, seed)
    rgb = (image[..., ::-1].astype(np.float32) - MEAN) / STD
    inputs = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    with torch.no_grad():
        feats = model(inputs)[0][0]  # (C, H/32, W/32)
    feats = torch.nn.functional.normalize(feats.flatten(1), dim=0)  # (C, h*w)
    grid = tuple(int(s) // 32 for s in image.shape[:2])
    sim = feats[:, query[0] * grid[1] + query[1]] @ feats
    return sim.reshape(grid).numpy()


def _loss_curves(pretrain_dir: str) -> Dict[str, tuple]:
    """Loss name -> (iterations, values) from the newest ``scalars.json`` in a work dir."""
    paths = sorted(glob.glob(osp.join(pretrain_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'No scalars.json under {pretrain_dir}: pre-training logged '
                                'nothing (is default_hooks.logger.interval > the iterations?)')
    curves: Dict[str, tuple] = {}
    with open(paths[-1]) as f:
        for line in f:
            record = json.loads(line)
            for key, value in record.items():
                if key.startswith('loss'):
                    curves.setdefault(key, ([], []))
                    curves[key][0].append(record['iter'])
                    curves[key][1].append(value)
    return curves


def plot_demo(pretrain_dirs: Dict[str, str], backbones: Dict[str, Optional[str]], out: str,
              seed: int = 0, image_size: int = 224) -> str:
    """Draw the loss curves and the dense similarity maps of one validation scene.

    The scene is the first one of the labelled validation split, rendered at
    ``image_size`` so that C5 has more than the 2x2 cells of a 64-pixel image.

    Args:
        pretrain_dirs: Row name -> pre-training work dir (for its loss curves).
        backbones: Row name -> extracted backbone file (None: random init).
        out: PNG path.
        seed: Seed of the rendered image and the random init.
        image_size: Side of the rendered image (a multiple of 32; 224 gives 7x7 cells).

    Returns:
        str: ``out``.
    """
    import matplotlib
    matplotlib.use('Agg')  # no display needed
    import matplotlib.pyplot as plt

    scene = render_labelled_scene(seed, 'val', 0, image_size, OBJECT_CATEGORIES, 16)
    # Query: the C5 cell under the centre of the largest visible object (or the centre).
    grid = image_size // 32
    query = (grid // 2, grid // 2)
    if scene.instances:
        ys, xs = np.nonzero(max(scene.instances, key=lambda inst: inst[1].sum())[1])
        query = (min(int(ys.mean()) // 32, grid - 1), min(int(xs.mean()) // 32, grid - 1))

    fig, axes = plt.subplots(1, 2 + len(backbones), figsize=(4 * (2 + len(backbones)), 4))
    for name, work_dir in pretrain_dirs.items():
        for key, (iters, values) in _loss_curves(work_dir).items():
            axes[0].plot(iters, values, label=f'{name} {key}')
    axes[0].set(title='Pre-training losses', xlabel='iteration', ylabel='loss')
    axes[0].legend(fontsize=7)
    axes[1].imshow(scene.image[..., ::-1])
    axes[1].scatter([query[1] * 32 + 16], [query[0] * 32 + 16], c='red', marker='x', s=80)
    axes[1].set_title('Val image, query cell (x)')
    for ax, (name, backbone) in zip(axes[2:], backbones.items()):
        sim = similarity_map(backbone, scene.image, query, seed)
        # C5 follows a ReLU, so the similarities lie in [0, 1].
        shown = ax.imshow(sim, vmin=0, vmax=1, cmap='viridis')
        ax.set_title(f'{name}: C5 cosine similarity')
        fig.colorbar(shown, ax=ax, fraction=0.046)
    for ax in axes[1:]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def run_demo(work_dir: str = 'work_dirs/demo', data_root: str = 'data/demo',
             quick: bool = False, seed: int = 0, num_threads: Optional[int] = None,
             runs: int = 1) -> dict:
    """Run the whole demo and write ``results.md``, ``results.json`` and ``demo.png``.

    Args:
        work_dir: Output folder.
        data_root: Demo data folder; this scale's data goes to ``data_root/<scale>/``.
        quick: Smallest scale (for tests), instead of the default one.
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
        return _run_demo(work_dir, data_root, quick, seed, runs)
    finally:
        torch.set_num_threads(previous_threads)  # callers (tests) keep their setting


def _run_demo(work_dir: str, data_root: str, quick: bool, seed: int, runs: int) -> dict:
    """:func:`run_demo` after the thread set-up."""
    start = time.perf_counter()
    scale_name = 'quick' if quick else 'default'
    scale = SCALES[scale_name]
    work_dir, root = osp.abspath(work_dir), osp.abspath(osp.join(data_root, scale_name))
    os.makedirs(work_dir, exist_ok=True)
    generate_demo_data(root, scale.num_unlabeled, scale.unlabeled_size, seed)
    ade_root = generate_labelled_demo_data(osp.join(root, 'labelled'), ('ade20k', ),
                                           scale.num_train, scale.num_val, 64,
                                           seed=seed)['ade20k']
    per_run = [
        _run_once(root, ade_root, work_dir if runs == 1 else osp.join(work_dir, f'run{run}'),
                  scale, seed + run) for run in range(runs)
    ]
    rows = per_run[0] if runs == 1 else aggregate_runs(per_run)

    table = results_table(rows, seed, runs)
    # The plot shows the first run's loss curves and backbones.
    plot_demo({row['method']: osp.dirname(row['pretrain_checkpoint']) for row in per_run[0]
               if row['pretrain_checkpoint'] is not None},
              {row['method']: row['backbone'] for row in per_run[0]},
              osp.join(work_dir, 'demo.png'), seed)
    results = dict(rows=rows, table=table, seed=seed, runs=runs, threads=torch.get_num_threads(),
                   scale=dict(name=scale_name, **scale._asdict()),
                   total_s=time.perf_counter() - start)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    print(table)
    print(f"Total wall time {results['total_s']:.0f} s; results.md, results.json and demo.png "
          f'in {work_dir}')
    return results


def _run_once(root: str, ade_root: str, work_dir: str, scale: DemoScale,
              seed: int) -> List[dict]:
    """Pre-train both methods and run both transfer protocols from every start, once.

    Returns:
        list[dict]: The table rows of this run (with the files each used).
    """
    checkpoints, pretrain_s = {}, {}
    for name, method in METHODS.items():
        if method is None:
            continue
        tic = time.perf_counter()
        checkpoints[name] = pretrain(method, root, osp.join(work_dir, 'pretrain', method), scale,
                                     seed)
        pretrain_s[name] = time.perf_counter() - tic
    rows = []
    for name, method in METHODS.items():
        result = finetune(checkpoints.get(name), ade_root,
                          osp.join(work_dir, 'finetune', method or 'random'), scale, seed)
        # The backbone file the first run extracted (None for random init): not again.
        frozen = finetune(result['backbone'], ade_root,
                          osp.join(work_dir, 'frozen', method or 'random'), scale, seed,
                          frozen=True)
        rows.append(dict(method=name, pretrain_s=pretrain_s.get(name),
                         pretrain_checkpoint=checkpoints.get(name), **result,
                         frozen={k: frozen[k] for k in ('mIoU', 'aAcc', 'finetune_s',
                                                        'checkpoint')}))
    return rows


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
    parser.add_argument('--quick', action='store_true',
                        help='smallest scale (a few minutes at most): checks the pipeline, '
                        'the numbers mean nothing')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data and of the first run')
    parser.add_argument('--runs', type=int, default=1,
                        help='independent repeats with seeds seed, seed+1, ...: the table '
                        'gives mean ± standard deviation (each run takes the time of one)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: one per core); 1 is faster when '
                        'other jobs share the cores')
    args = parser.parse_args(argv)
    return run_demo(args.work_dir, args.data_root, args.quick, args.seed, args.threads, args.runs)
