"""Samples/s per data-loader worker of a config's training pipeline, on JPEG files.

Usage::

    python tools/analysis/benchmark_data.py configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py \
        [--device-aug-config CONFIG] [--images DIR] [--num-images 200] [--image-size 500x375] \
        [--quality 90] [--repeats 3] [--no-reference] [--device cpu]

Without ``--images`` it writes ImageNet-sized JPEGs of demo scenes (500 x 375, quality
90 by default) under ``data/bench/`` once and reuses them. In one interleaved run, one
thread, it times the MoCo v2 reference pipeline (torchvision on PIL), (a) the config's
pipeline, (b) the same with reduced-size JPEG decode, (c) the CPU part of the pipeline
with its photometric augmentation on the device (``--device-aug-config``'s pipeline, or
the config's minus its photometric transforms), with and without reduced decode, and
then the device part (the data preprocessor) on a batch of (c)'s outputs. One sample is
one image made into all its views. It prints a table, the reduced crops' decode scales,
ms per sample of each transform, and last the ratios to the reference. The logic lives
in :mod:`mmdense.analysis.data_benchmark`.
"""
import argparse
import glob
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.analysis.data_benchmark import (DATA_BENCH_ROWS, benchmark_data,  # noqa: E402
                                             write_bench_jpegs)
from mmdense.utils import register_all_modules  # noqa: E402


def image_size(text: str) -> tuple:
    """'500x375' -> (500, 375); '384' -> (384, 384)."""
    width, _, height = text.lower().partition('x')
    return int(width), int(height or width)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Time a config\'s two-view data pipeline per worker.')
    parser.add_argument('config')
    parser.add_argument('--device-aug-config', default=None,
                        help='config whose worker pipeline leaves the photometric augmentation '
                        'to its data preprocessor; default: derived from CONFIG')
    parser.add_argument('--images', default=None,
                        help='folder searched recursively for JPEG/PNG files')
    parser.add_argument('--num-images', type=int, default=200)
    parser.add_argument('--image-size', type=image_size, default=(500, 375),
                        help='WxH (or one side) of generated images')
    parser.add_argument('--quality', type=int, default=90, help='JPEG quality of generated images')
    parser.add_argument('--bench-root', default='data/bench', help='where images are generated')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=4)
    parser.add_argument('--reference-size', type=int, default=224,
                        help='crop size of the MoCo v2 reference pipeline')
    parser.add_argument('--no-reference', action='store_true')
    parser.add_argument('--device', default='cpu', help='where the device part is timed')
    parser.add_argument('--device-batch-size', type=int, default=32)
    return parser.parse_args(argv)


def _fmt_scales(counter) -> str:
    total = sum(counter.values())
    if not total:
        return 'none'
    return ', '.join(f'1/{s} {n / total:.0%}' for s, n in sorted(counter.items()))


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules()
    if args.images is None:
        width, height = args.image_size
        paths = write_bench_jpegs(args.bench_root, args.num_images, width, height, args.quality)
        source = f'{width}x{height} quality-{args.quality} demo-scene JPEGs in {args.bench_root}'
    else:
        paths = sorted(
            p for ext in ('jpg', 'JPEG', 'jpeg', 'png')
            for p in glob.glob(osp.join(args.images, '**', f'*.{ext}'), recursive=True))
        paths = paths[:args.num_images]
        source = args.images
    if not paths:
        raise SystemExit(f'No JPEG/PNG files under {args.images}; pass --images DIR with some.')
    result = benchmark_data(
        args.config, paths, device_aug_config=args.device_aug_config, repeats=args.repeats,
        warmup=args.warmup, reference_size=None if args.no_reference else args.reference_size,
        device=args.device, device_batch_size=args.device_batch_size)
    pipelines, ratios = result['pipelines'], result['ratios']
    print(f'{len(paths)} images ({source}), 1 thread, median of {args.repeats} interleaved '
          'passes; a sample is one image made into all its views')
    print(f"(c) from: {result['device_aug_source']}")
    print('| pipeline | samples/s | ms/sample | ratio to reference |')
    print('|---|---|---|---|')
    for name, r in pipelines.items():
        ratio = '1.00' if name == 'reference' else (f'{ratios[name]:.2f}' if ratios else '-')
        print(f"| {DATA_BENCH_ROWS[name]} | {r['samples_per_s']:.1f} | "
              f"{r['ms_per_sample']:.2f} | {ratio} |")
    device = result['device_part']
    print(f"device part: {device['type']} of {device['config']}, batch of "
          f"{device['batch_size']} worker outputs on {device['device']}: "
          f"{device['ms_per_image']:.2f} ms/image")
    for name, counter in result['decode_scales'].items():
        print(f'decode scales of the reduced crops, {DATA_BENCH_ROWS[name]}: '
              f'{_fmt_scales(counter)}')
    names = list(result['breakdowns'])
    print('\n| transform, ms/sample | ' + ' | '.join(DATA_BENCH_ROWS[n] for n in names) + ' |')
    print('|---' * (len(names) + 1) + '|')
    transforms = []
    for breakdown in result['breakdowns'].values():
        transforms += [t for t in breakdown if t not in transforms and t != '(other)']
    for transform in transforms + ['(other)']:
        cells = [f"{result['breakdowns'][n][transform]:.2f}"
                 if transform in result['breakdowns'][n] else '-' for n in names]
        print(f'| {transform} | ' + ' | '.join(cells) + ' |')
    device_note = f"(+ device part {device['ms_per_image']:.2f} ms/image on {device['device']})"
    if ratios:
        print(f"\nratios to the torchvision reference: ours {ratios['ours']:.2f}x, "
              f"reduced decode {ratios['reduced']:.2f}x, device aug CPU part "
              f"{ratios['device_aug']:.2f}x {device_note}, device aug CPU part with full "
              f"decode {ratios['device_aug_full_decode']:.2f}x")
    else:
        print(f'\nratios to the torchvision reference: n/a (--no-reference) {device_note}')
    return result


if __name__ == '__main__':
    main()
