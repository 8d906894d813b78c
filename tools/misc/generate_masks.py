"""Write DetCon's Felzenszwalb masks beside an image folder (resumable, parallel).

    python tools/misc/generate_masks.py data/imagenet --workers 16
    python tools/misc/generate_masks.py data/coco/train2017 --mask-root data/coco/masks/train2017

The mask of ``<img_root>/<rel>.<ext>`` is ``<mask_root>/<rel>.png`` (``mask_root`` defaults
to ``<img_root>/masks``); see ``mmdense/datasets/felzenszwalb_masks.py`` and docs/detcon.md.
"""
import argparse
import sys
from typing import Optional, Sequence

from mmdense.datasets.felzenszwalb_masks import (FH_MIN_SIZE, FH_SCALE, FH_SIGMA, generate_masks,
                                                 list_images)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('img_root', help='image root (ImageNet-style tree or COCO image folder)')
    parser.add_argument('--mask-root', default=None, help='mask root (default <img_root>/masks)')
    parser.add_argument('--workers', type=int, default=1, help='worker processes')
    parser.add_argument('--scale', type=float, default=FH_SCALE)
    parser.add_argument('--min-size', type=int, default=FH_MIN_SIZE)
    parser.add_argument('--sigma', type=float, default=FH_SIGMA)
    args = parser.parse_args(argv)
    images = list_images(args.img_root, args.mask_root)
    written = generate_masks(args.img_root, args.mask_root, images, workers=args.workers,
                             scale=args.scale, min_size=args.min_size, sigma=args.sigma)
    print(f'{len(images)} images, {written} masks written, {len(images) - written} already there')
    return written


if __name__ == '__main__':
    main(sys.argv[1:])
