"""The prepared GPU report (``tools/analysis/gpu_report.sh``): one command, one markdown table.

On one GPU it measures, in this order, and writes every figure to one markdown file:

1. **Step throughput**: two-view images/s of the DenseCL, MoCo v2 and PixPro R50 configs at
   224 px with bf16 autocast, channels_last off and on, at each batch size (default 64 and
   256), with :func:`mmdense.analysis.step_benchmark.benchmark_steps` (synthetic inputs,
   steps of the models interleaved, median), and the extra peak memory of a step.
2. **Against mmpretrain**: mmpretrain 1.2.0's DenseCL on the same inputs in the same
   interleaved loop: our step / theirs.
3. **End to end**: a short DenseCL training run with the real data loader on generated
   ImageNet-sized JPEGs, with the CPU augmentation and with the device augmentation: the
   Runner's ``data_time`` as a share of its step ``time``, and images/s.

``--dry-run`` runs every part on the CPU at toy sizes (the methods' ResNet-18 demo configs
for the steps, mmpretrain's R50 DenseCL, batch 2, 64 px, one repeat, a four-iteration
end-to-end run at batch 2) so the tests keep the script working where there is no
GPU; its figures mean nothing. Each part is timed and the report says how long it took, so a
user can see the 8-minute budget being kept.
"""
import argparse
import glob
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import torch

__all__ = ['STEP_CONFIGS', 'MMPRETRAIN_DENSECL', 'step_rows', 'end_to_end_rows',
           'render_report', 'main']

STEP_CONFIGS = {
    'DenseCL': 'configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py',
    'MoCo v2': 'configs/mocov2/mocov2_r50_8xb32-coslr-200e_in1k.py',
    'PixPro': 'configs/pixpro/pixpro_r50_8xb128-lars-100e_in1k.py',
}
# --dry-run: the CPU demo configs of the same methods (plain BN: SyncBN needs a GPU).
DRY_RUN_STEP_CONFIGS = {
    'DenseCL': 'configs/densecl/densecl_r18_demo.py',
    'MoCo v2': 'configs/mocov2/mocov2_r18_demo.py',
    'PixPro': 'configs/pixpro/pixpro_r18_demo.py',
}
MMPRETRAIN_DENSECL = 'mmpretrain::densecl/densecl_resnet50_8xb32-coslr-200e_in1k.py'
# The end-to-end run: the DenseCL R50 config with the CPU pipeline, and its device-augmentation
# twin (the same augmentation, photometric part batched in the data preprocessor).
E2E_CONFIGS = {
    'CPU augmentation': 'configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py',
    'device augmentation': 'configs/densecl/densecl_r50_8xb32-coslr-200e_in1k_device-aug.py',
}


def step_rows(configs: Dict[str, str], batch_sizes: Sequence[int], image_size: int,
              device: str, amp: Optional[str], channels_last: Sequence[bool], warmup: int,
              repeats: int, reference: Optional[str] = None) -> List[dict]:
    """One row per (batch size, channels_last, config): step time, images/s, peak memory.

    ``reference`` (an ``mmpretrain::`` config) is timed in the same interleaved loop as
    ``configs['DenseCL']`` only (the two models of one comparison), so their ratio is not
    disturbed by the other models.
    """
    from .step_benchmark import benchmark_steps
    rows = []
    for batch in batch_sizes:
        for last in channels_last:
            results = benchmark_steps(list(configs.values()), batch, image_size, warmup, repeats,
                                      device, amp=amp, channels_last=last)
            for name, config in configs.items():
                r = results[config]
                rows.append(dict(method=name, config=config, batch=batch, channels_last=last,
                                 step_ms=r['step_s'] * 1e3, images_per_s=r['images_per_s'],
                                 peak_mb=r.get('model_mb', 0.0) + r.get('step_peak_mb', 0.0)
                                 if 'step_peak_mb' in r else None))
            if reference is not None and 'DenseCL' in configs:
                pair = benchmark_steps([configs['DenseCL'], reference], batch, image_size,
                                       warmup, repeats, device, amp=amp, channels_last=last)
                ours, theirs = pair[configs['DenseCL']], pair[reference]
                rows.append(dict(method='mmpretrain DenseCL', config=reference, batch=batch,
                                 channels_last=last, step_ms=theirs['step_s'] * 1e3,
                                 images_per_s=theirs['images_per_s'],
                                 peak_mb=None, ratio=ours['step_s'] / theirs['step_s']))
    return rows


def end_to_end_rows(configs: Dict[str, str], image_dir: str, work_dir: str, batch_size: int,
                    iters: int, workers: int, device: str, amp: Optional[str],
                    skip: int = 2) -> List[dict]:
    """Train each config for ``iters`` iterations on ``image_dir`` with the real data loader.

    Returns:
        list[dict]: Per config: ``data_time_share`` (mean of the Runner's ``data_time`` /
        ``time`` over the logged iterations after the first ``skip``), ``step_s`` and
        two-view ``images_per_s``.
    """
    from mmengine.config import Config

    from mmdense.apis.train import train
    from .training_curves import read_scalars
    num_images = len(glob.glob(osp.join(image_dir, '**', '*.jpg'), recursive=True))
    rows = []
    for name, path in configs.items():
        if not osp.isfile(path):
            rows.append(dict(setting=name, config=path, missing=True))
            continue
        cfg = Config.fromfile(path)
        out = osp.join(work_dir, name.replace(' ', '_'))
        cfg.merge_from_dict({
            'train_dataloader.batch_size': batch_size,
            'train_dataloader.num_workers': workers,
            'train_dataloader.persistent_workers': workers > 0,
            'train_dataloader.dataset.data_root': image_dir,
            'train_dataloader.dataset.ann_file': '',
            'train_dataloader.dataset.data_prefix': dict(img_path=''),
            # A queue that fits the generated images (the queue-length rule): half of what
            # the data leaves beside one batch, in whole batches.
            'model.queue_len': max(batch_size,
                                   (num_images - batch_size) // (2 * batch_size) * batch_size),
            # mmengine keeps visualizers and loggers per name for the whole process: a reused
            # name would log this run into the previous run's files.
            'experiment_name': f'gpu_report_{name.replace(" ", "_")}_{os.getpid()}',
            'visualizer.name': f'gpu_report_vis_{name.replace(" ", "_")}_{os.getpid()}',
            'default_hooks.logger.interval': 1,
            'log_processor.by_epoch': False,
            'log_processor.window_size': 1,
        })
        # Replaced whole (merging would keep the epoch-based keys): a short iteration-based
        # run, no schedule, no checkpoint, DenseCL's dense loss on from the start.
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
        cfg.param_scheduler = []
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                            interval=10 ** 9, save_last=False)
        cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                            if h.get('type') != 'DenseCLWarmupHook']
        if device == 'cpu':  # SyncBN needs a GPU
            for part in ('backbone', 'neck'):
                if 'norm_cfg' in cfg.model.get(part, {}):
                    cfg.model[part].norm_cfg = dict(type='BN')
        if amp == 'bf16':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.dtype = 'bfloat16'
        cfg.work_dir = out
        cfg.launcher = 'none'
        start = time.perf_counter()
        train(cfg)
        records = [r for r in read_scalars(out) if 'data_time' in r][skip:]
        if not records:
            raise RuntimeError(f'{name}: fewer than {skip + 1} logged iterations; '
                               'raise --e2e-iters')
        share = sum(r['data_time'] / r['time'] for r in records) / len(records)
        step = sum(r['time'] for r in records) / len(records)
        rows.append(dict(setting=name, config=path, data_time_share=share, step_s=step,
                         images_per_s=batch_size / step, wall_s=time.perf_counter() - start))
    return rows


def render_report(header: Dict[str, str], steps: List[dict], e2e: List[dict],
                  seconds: Dict[str, float]) -> str:
    """The markdown report: a settings line, the step table, the end-to-end table."""
    lines = ['# mmdense GPU report', '', ', '.join(f'{k}: {v}' for k, v in header.items()), '',
             '| method | batch | channels_last | step (ms) | two-view images/s | peak memory (GB) '
             '| ours / mmpretrain |', '|---|---|---|---|---|---|---|']
    for r in steps:
        peak = '-' if r.get('peak_mb') is None else f"{r['peak_mb'] / 1024:.1f}"
        ratio = f"{r['ratio']:.3f}" if 'ratio' in r else '-'
        lines.append(f"| {r['method']} | {r['batch']} | {'on' if r['channels_last'] else 'off'} "
                     f"| {r['step_ms']:.1f} | {r['images_per_s']:.0f} | {peak} | {ratio} |")
    lines += ['', '| end to end (DenseCL, real data loader) | data_time / step time | step (ms) '
              '| two-view images/s |', '|---|---|---|---|']
    for r in e2e:
        if r.get('missing'):
            lines.append(f"| {r['setting']} | config {r['config']} not found | - | - |")
            continue
        lines.append(f"| {r['setting']} | {100 * r['data_time_share']:.1f} % "
                     f"| {r['step_s'] * 1e3:.1f} | {r['images_per_s']:.0f} |")
    lines += ['', 'Time per part: ' + ', '.join(f'{k} {v:.0f} s' for k, v in seconds.items())
              + '.']
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='The prepared GPU report: step throughput, '
                                     'memory, mmpretrain ratio and data_time share, as one '
                                     'markdown table.')
    parser.add_argument('--out', default='work_dirs/gpu_report/report.md')
    parser.add_argument('--work-dir', default='work_dirs/gpu_report')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[64, 256])
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--e2e-images', type=int, default=2560)
    parser.add_argument('--e2e-batch', type=int, default=128)
    parser.add_argument('--e2e-iters', type=int, default=40)
    parser.add_argument('--workers', type=int, default=min(16, os.cpu_count() or 1))
    parser.add_argument('--no-mmpretrain', action='store_true')
    parser.add_argument('--dry-run', action='store_true',
                        help='CPU, toy sizes: checks that every part runs; figures mean nothing')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Run the report; returns the markdown it wrote to ``--out``."""
    from mmdense.utils import register_all_modules
    args = parse_args(argv)
    register_all_modules()
    device, amp = ('cpu', None) if args.dry_run else ('cuda', 'bf16')
    if not args.dry_run and not torch.cuda.is_available():
        raise SystemExit('gpu_report: no CUDA device; run with --dry-run to check the script '
                         'on the CPU.')
    if args.dry_run:
        args.batch_sizes, args.image_size, args.warmup, args.repeats = [2], 64, 0, 1
        args.e2e_images, args.e2e_batch, args.e2e_iters = 12, 2, 4
        args.workers = min(args.workers, 1)
    seconds, header = {}, dict(
        device=torch.cuda.get_device_name(0) if device == 'cuda' else
        'cpu (dry run: R18 demo configs against mmpretrain\'s R50, the figures mean nothing)',
        torch=torch.__version__, amp=amp or 'fp32', image=f'{args.image_size} px',
        repeats=f'{args.repeats} (median, interleaved)')
    start = time.perf_counter()
    steps = step_rows(DRY_RUN_STEP_CONFIGS if args.dry_run else STEP_CONFIGS,
                      args.batch_sizes, args.image_size, device, amp, (False, True),
                      args.warmup, args.repeats,
                      reference=None if args.no_mmpretrain else MMPRETRAIN_DENSECL)
    seconds['steps'] = time.perf_counter() - start
    start = time.perf_counter()
    from .data_benchmark import write_bench_jpegs
    images = osp.dirname(write_bench_jpegs(osp.join(args.work_dir, 'jpegs'), args.e2e_images)[0])
    e2e = end_to_end_rows(E2E_CONFIGS, images, osp.join(args.work_dir, 'e2e'), args.e2e_batch,
                          args.e2e_iters, args.workers, device, amp)
    seconds['end to end'] = time.perf_counter() - start
    header.update({'end-to-end': f'{args.e2e_iters} iterations at batch {args.e2e_batch}, '
                   f'{args.workers} workers, {args.e2e_images} JPEGs 500x375 q90'})
    report = render_report(header, steps, e2e, seconds)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(report)
    print(report)
    return report
