"""Time training steps of a config's model on synthetic two-view inputs.

Example:
    python tools/analysis/benchmark_step.py configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py \
        --compare configs/mocov2/mocov2_r50_8xb32-coslr-200e_in1k.py --batch-size 8 --image-size 224
    # against mmpretrain 1.2.0's DenseCL (benchmark-only install on PYTHONPATH)
    python tools/analysis/benchmark_step.py configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py \
        --compare mmpretrain::densecl/densecl_resnet50_8xb32-coslr-200e_in1k.py
    # PixPro against a supervised ResNet-50 ImageNet step (one view, 1000-way cross-entropy)
    python tools/analysis/benchmark_step.py configs/pixpro/pixpro_r50_8xb128-lars-100e_in1k.py \
        --compare supervised::resnet50
    # GPU: mixed precision, every model in the channels-last format
    python tools/analysis/benchmark_step.py CONFIG --device cuda --amp fp16 --channels-last on \
        --batch-size 32
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.analysis.step_benchmark import benchmark_steps  # noqa: E402
from mmdense.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--compare', nargs='*', default=[], help='configs timed in the same run')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--queue-len', type=int, default=None)
    parser.add_argument('--amp', choices=['fp16', 'bf16'], default=None,
                        help='autocast (CUDA only)')
    parser.add_argument(
        '--channels-last', choices=['config', 'on', 'off'], default='config',
        help="memory format: 'config' (default) runs each model as shipped (ours as its "
        "config's data_preprocessor.channels_last, mmpretrain's in the default layout); "
        "'on'/'off' imposes one on every model")
    parser.add_argument(
        '--process-group', action='store_true',
        help='run under a 1-process group (shuffle-BN paths), always on with mmpretrain')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules()
    configs = [args.config] + list(args.compare)
    channels_last = dict(config=None, on=True, off=False)[args.channels_last]
    results = benchmark_steps(configs, args.batch_size, args.image_size, args.warmup, args.repeats,
                              args.device, args.queue_len, amp=args.amp,
                              channels_last=channels_last,
                              process_group=True if args.process_group else None)
    reference = results[args.config]['step_s']
    print(f'device={args.device} batch={args.batch_size} image={args.image_size} amp={args.amp} '
          f'channels_last={args.channels_last} repeats={args.repeats} (median, interleaved)')
    memory = any('step_peak_mb' in r for r in results.values())
    print('| config | channels_last | step (ms) | images/s | ratio to first |' +
          (' model (MB) | step peak (MB) |' if memory else ''))
    print('|---|---|---|---|---|' + ('---|---|' if memory else ''))
    for config, r in results.items():
        row = (f"| {config} | {'on' if r['channels_last'] else 'off'} | "
               f"{r['step_s'] * 1e3:.1f} | {r['images_per_s']:.1f} | "
               f"{r['step_s'] / reference:.3f} |")
        if memory:
            row += f" {r.get('model_mb', 0):.0f} | {r.get('step_peak_mb', 0):.0f} |"
        print(row)
    return results


if __name__ == '__main__':
    main()
