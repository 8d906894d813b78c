"""Time training steps of a config's model on synthetic two-view inputs.

Example:
    python tools/analysis/benchmark_step.py configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py \
        --compare configs/mocov2/mocov2_r50_8xb32-coslr-200e_in1k.py --batch-size 8 --image-size 224
"""
import argparse

from mmdense.utils import register_all_modules
from mmdense.utils.step_benchmark import benchmark_steps


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
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules()
    configs = [args.config] + list(args.compare)
    results = benchmark_steps(configs, args.batch_size, args.image_size, args.warmup, args.repeats,
                              args.device, args.queue_len)
    reference = results[args.config]['step_s']
    print(f'device={args.device} batch={args.batch_size} image={args.image_size} '
          f'repeats={args.repeats} (median, interleaved)')
    print('| config | step (ms) | images/s | ratio to first |')
    print('|---|---|---|---|')
    for config, r in results.items():
        print(f"| {config} | {r['step_s'] * 1e3:.1f} | {r['images_per_s']:.1f} | "
              f"{r['step_s'] / reference:.3f} |")
    return results


if __name__ == '__main__':
    main()
