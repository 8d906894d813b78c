"""A tiny labelled image-classification dataset in ImageNet's on-disk layout.

The linear and k-NN probes read ImageNet through mmpretrain's ``ImageNet`` dataset; this
module writes the same layout from the demo's synthetic scenes, so the probe configs run
unchanged on a CPU::

    root/imagenet/train/<class>/<name>.JPEG
    root/imagenet/val/<name>.JPEG                 # flat, as ImageNet's val
    root/imagenet/meta/train.txt                  # "<class>/<name>.JPEG <label>"
    root/imagenet/meta/val.txt                    # "<name>.JPEG <label>"

The label of a scene is the object category covering most of its pixels (the scenes are
those of :func:`~mmdense.datasets.demo.labelled.render_labelled_scene`, with a seed of their
own so they differ from the segmentation scenes): a frozen feature that knows objects, not
only the background photograph, is needed to classify it. Class names are
:data:`~mmdense.datasets.demo.scenes.OBJECT_CATEGORIES`; configs pass them as
``metainfo=dict(classes=...)``, since mmpretrain's ``ImageNet`` otherwise expects 1000.

Run ``python -m mmdense.datasets.demo.classification --root data/demo_labelled``.
"""
import argparse

import numpy as np

from mmdense.utils.atomic_publish import publish_atomically
from .labelled import _write_image, _write_lines, render_labelled_scene
from .scenes import GENERATOR_VERSION, OBJECT_CATEGORIES

__all__ = ['CLASSES', 'dominant_category', 'generate_classification_data']

CLASSES = OBJECT_CATEGORIES
# Scenes of this dataset are drawn from seed + offset, apart from the segmentation ones.
_SEED_OFFSET = 1000


def dominant_category(semantic: np.ndarray) -> int:
    """Index into :data:`CLASSES` of the category with the largest visible area.

    Ties go to the lower index; a scene without any object raises (the generator always
    draws three or more).
    """
    counts = np.bincount(semantic.ravel(), minlength=len(CLASSES) + 1)[1:len(CLASSES) + 1]
    if counts.sum() == 0:
        raise ValueError('scene without objects has no class')
    return int(np.argmax(counts))


def _write(out: str, num_train: int, num_val: int, image_size: int, seed: int) -> None:
    for split, count in (('train', num_train), ('val', num_val)):
        lines = []
        for index in range(count):
            scene = render_labelled_scene(seed + _SEED_OFFSET, split, index, image_size,
                                          CLASSES, min_area=1)
            label = dominant_category(scene.semantic)
            rel = (f'{CLASSES[label]}/{scene.name}.JPEG' if split == 'train' else
                   f'{scene.name}.JPEG')
            _write_image(f'{out}/{split}/{rel}', scene.image)
            lines.append(f'{rel} {label}')
        _write_lines(f'{out}/meta/{split}.txt', lines)


def generate_classification_data(root: str = 'data/demo_labelled', num_train: int = 32,
                                 num_val: int = 16, image_size: int = 64,
                                 seed: int = 0) -> str:
    """Write ``root/imagenet`` unless it is already there (same arguments).

    Args:
        root: Parent folder (the ``data/demo_labelled`` of the demo probe configs).
        num_train: Training images (the k-NN memory bank, the linear probe's training set).
        num_val: Validation images.
        image_size: Side of the square images.
        seed: Seed of the scene generator.

    Returns:
        str: The dataset root, ``root/imagenet``.
    """
    if num_train < 1 or num_val < 1 or image_size < 16:
        raise ValueError(f'need num_train, num_val >= 1 and image_size >= 16, got '
                         f'{num_train}, {num_val}, {image_size}.')
    stamp = (f'mmdense classification demo data v{GENERATOR_VERSION}: num_train={num_train} '
             f'num_val={num_val} image_size={image_size} seed={seed}')
    return publish_atomically(root, 'imagenet',
                              lambda out: _write(out, num_train, num_val, image_size, seed),
                              stamp)


def main(argv: list[str] | None = None) -> str:
    """Command line entry: ``python -m mmdense.datasets.demo.classification --root DIR``."""
    parser = argparse.ArgumentParser(
        description='Write a tiny labelled classification dataset in ImageNet layout.')
    parser.add_argument('--root', default='data/demo_labelled', help='output root folder')
    parser.add_argument('--num-train', type=int, default=32)
    parser.add_argument('--num-val', type=int, default=16)
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    path = generate_classification_data(args.root, args.num_train, args.num_val,
                                        args.image_size, args.seed)
    print(f'imagenet: {path}')
    return path


if __name__ == '__main__':
    main()
