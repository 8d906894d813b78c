"""Samples/s per data-loader worker of a config's training pipeline, on JPEG files.

Usage::

    python tools/analysis/benchmark_data.py configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py \
        [--images DIR] [--num-images 64] [--image-size 384] [--repeats 3] [--no-reference]

Without ``--images`` it writes demo-scene JPEGs of ``--image-size`` (about ImageNet's
average size by default) under ``data/bench/`` once and reuses them. It prints our
pipeline's samples/s (one sample = one image made into all its views), the MoCo v2
reference pipeline's (torchvision on PIL) on the same files in the same run, the
ratio, and ms per sample of each transform. The logic lives in
:mod:`mmdense.analysis.data_benchmark`.
"""
import argparse
import glob
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.analysis.data_benchmark import benchmark_pipeline  # noqa: E402
from mmdense.datasets.demo.scenes import generate_demo_data  # noqa: E402
from mmdense.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Time a config\'s two-view data pipeline per worker.')
    parser.add_argument('config')
    parser.add_argument('--images', default=None,
                        help='folder searched recursively for JPEG/PNG files')
    parser.add_argument('--num-images', type=int, default=64)
    parser.add_argument('--image-size', type=int, default=384, help='side of generated images')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--reference-size', type=int, default=224,
                        help='crop size of the MoCo v2 reference pipeline')
    parser.add_argument('--no-reference', action='store_true')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules()
    if args.images is None:
        root = generate_demo_data(f'data/bench/{args.image_size}px', args.num_images,
                                  args.image_size)
    else:
        root = args.images
    paths = sorted(
        p for ext in ('jpg', 'JPEG', 'jpeg', 'png')
        for p in glob.glob(osp.join(root, '**', f'*.{ext}'), recursive=True))[:args.num_images]
    if not paths:
        raise SystemExit(f'No JPEG/PNG files under {root}; pass --images DIR with some.')
    result = benchmark_pipeline(args.config, paths, repeats=args.repeats,
                                reference_size=None if args.no_reference else args.reference_size)
    print(f'{len(paths)} images from {root}, 1 thread, median of {args.repeats} passes')
    print('| pipeline | samples/s | ms/sample |')
    print('|---|---|---|')
    for name in ('ours', 'reference'):
        if result[name]:
            r = result[name]
            print(f"| {name} | {r['samples_per_s']:.1f} | {r['ms_per_sample']:.2f} |")
    if result['ratio']:
        print(f"ours / reference samples/s = {result['ratio']:.2f}")
    print('\n| transform (ours) | ms/sample | share |')
    print('|---|---|---|')
    total = sum(result['breakdown'].values())
    for name, ms in result['breakdown'].items():
        print(f'| {name} | {ms:.2f} | {ms / total:.0%} |')
    return result


if __name__ == '__main__':
    main()
