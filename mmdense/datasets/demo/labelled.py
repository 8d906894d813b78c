"""Tiny labelled datasets in the real on-disk formats of COCO, VOC, ADE20K and Cityscapes.

Transfer configs inherit mmdet's and mmseg's own dataset settings, so the data
they read must be in the downstream layouts. This module renders the synthetic
scenes of :mod:`mmdense.datasets.demo.scenes` and writes them, with their
instance and category maps, as the files mmdet's ``CocoDataset``/``VOCDataset``
and mmseg's ``PascalVOCDataset``/``ADE20KDataset``/``CityscapesDataset`` read.

Layout under ``root`` (the ``data/`` folder of the benchmark configs)::

    coco/{train2017,val2017}/<id>.jpg, coco/annotations/instances_{train,val}2017.json
    VOCdevkit/VOC{2007,2012}/JPEGImages/<id>.jpg, Annotations/<id>.xml,
        ImageSets/Main/{trainval,test}.txt, SegmentationClass{,Aug}/<id>.png,
        ImageSets/Segmentation/{train,val,aug}.txt (VOC2012 also test.txt: the val images,
        read without labels by the VOC 2012 test-submission configs)
    ade/ADEChallengeData2016/images/{training,validation}/<id>.jpg,
        annotations/{training,validation}/<id>.png
    cityscapes/leftImg8bit/{train,val}/<city>/<id>_leftImg8bit.png,
        gtFine/{train,val}/<city>/<id>_gtFine_labelTrainIds.png

Label conventions: detection classes are ``classes`` (COCO category ids from 1;
pass ``metainfo=dict(classes=...)`` to mmdet's datasets). Segmentation labels are
``0`` for background and ``i + 1`` for ``classes[i]``: VOC stores that index,
ADE20K stores index + 1 (0 = "other", removed by ``reduce_zero_label``),
Cityscapes stores it as the train id. mmseg's datasets only accept class names
from their own lists, so the segmentation labels are read as indices into the
dataset's own classes (the configs stay unchanged; the metric reports the
classes present). Objects of categories outside ``classes`` are background.

Every dataset is written into a hidden folder and renamed into place, and is a
deterministic function of the arguments. Run
``python -m mmdense.datasets.demo.labelled --root data/demo_labelled``.
"""
import argparse
import functools
import json
import os
import os.path as osp
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from mmdense.utils.atomic_file_backend import atomic_write_bytes
from mmdense.utils.atomic_publish import publish_atomically
from .scenes import GENERATOR_VERSION, OBJECT_CATEGORIES, SCENE_TYPES, render_scene

FORMATS = ('coco', 'voc', 'ade20k', 'cityscapes')
SPLITS = ('train', 'val')


class LabelledScene(NamedTuple):
    """One rendered scene with its annotations."""
    name: str
    image: np.ndarray  # BGR uint8 (S, S, 3)
    semantic: np.ndarray  # uint8 (S, S): 0 background, i + 1 for classes[i]
    instances: list  # [(class index, bool mask (S, S))], visible part of each object


def render_labelled_scene(seed: int, split: str, index: int, image_size: int,
                          classes: Sequence[str], min_area: int) -> LabelledScene:
    """Render one scene and its labels for ``classes``.

    Args:
        seed: Seed of the generator; the scene depends on (seed, split, index) only.
        split: ``'train'`` or ``'val'``.
        index: Index of the image in its split.
        image_size: Side S of the square image.
        classes: Labelled category names, a subset of ``OBJECT_CATEGORIES``.
        min_area: Visible objects smaller than this (pixels) are not annotated as
            instances (an occluded sliver has no usable box); they stay in the
            semantic map.

    Returns:
        LabelledScene: Image, semantic map and instances.
    """
    scene_type = SCENE_TYPES[index % len(SCENE_TYPES)]
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    image, categories, instance_map = render_scene(rng, image_size, scene_type,
                                                   return_instances=True)
    # category map value c + 1 -> label classes.index(name) + 1, unlisted -> 0.
    lut = np.zeros(256, np.uint8)
    for c, name in enumerate(OBJECT_CATEGORIES):
        if name in classes:
            lut[c + 1] = classes.index(name) + 1
    semantic = lut[categories]
    instances = []
    for instance_id in range(1, int(instance_map.max()) + 1):
        mask = instance_map == instance_id
        if mask.sum() < min_area:
            continue
        label = int(semantic[mask][0])  # one object, one category
        if label:
            instances.append((label - 1, mask))
    return LabelledScene(f'{scene_type}_{split}_{index:05d}', image, semantic, instances)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Tight box of a mask as (x1, y1, x2, y2), x2/y2 exclusive."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _write_image(path: str, image: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.endswith('.jpg') else []
    ok, encoded = cv2.imencode(osp.splitext(path)[1], image, params)
    if not ok:
        raise RuntimeError(f'cv2 could not encode {path}')
    with open(path, 'wb') as f:
        f.write(encoded.tobytes())


def _write_lines(path: str, lines: list[str]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(f'{line}\n' for line in lines)


def _write_coco(out: str, scenes: dict, classes: Sequence[str]) -> None:
    annotation_id = 0
    for split, items in scenes.items():
        images, annotations = [], []
        for image_id, scene in enumerate(items, start=1):
            height, width = scene.image.shape[:2]
            _write_image(osp.join(out, f'{split}2017', f'{scene.name}.jpg'), scene.image)
            images.append(dict(id=image_id, file_name=f'{scene.name}.jpg', height=height,
                               width=width))
            for label, mask in scene.instances:
                annotation_id += 1
                x1, y1, x2, y2 = _box(mask)
                # RLE keeps occluded (possibly split) visible regions exact.
                rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
                annotations.append(
                    dict(id=annotation_id, image_id=image_id, category_id=label + 1,
                         bbox=[x1, y1, x2 - x1, y2 - y1], area=int(mask.sum()), iscrowd=0,
                         segmentation=dict(size=rle['size'], counts=rle['counts'].decode())))
        categories = [dict(id=i + 1, name=name, supercategory='object')
                      for i, name in enumerate(classes)]
        path = osp.join(out, 'annotations', f'instances_{split}2017.json')
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)


def _voc_xml(scene: LabelledScene, classes: Sequence[str], year: str) -> str:
    height, width = scene.image.shape[:2]
    objects = []
    for label, mask in scene.instances:
        x1, y1, x2, y2 = _box(mask)
        # VOC boxes are 1-based and inclusive: pixel column x is coordinate x + 1.
        objects.append(
            f'  <object>\n    <name>{classes[label]}</name>\n    <pose>Unspecified</pose>\n'
            f'    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <bndbox>\n'
            f'      <xmin>{x1 + 1}</xmin>\n      <ymin>{y1 + 1}</ymin>\n'
            f'      <xmax>{x2}</xmax>\n      <ymax>{y2}</ymax>\n    </bndbox>\n  </object>\n')
    return (f'<annotation>\n  <folder>VOC{year}</folder>\n  <filename>{scene.name}.jpg</filename>\n'
            f'  <size>\n    <width>{width}</width>\n    <height>{height}</height>\n'
            f'    <depth>3</depth>\n  </size>\n  <segmented>1</segmented>\n'
            + ''.join(objects) + '</annotation>\n')


def _write_voc(out: str, scenes: dict, classes: Sequence[str]) -> None:
    # The 07+12 protocol trains on both years' trainval and tests on VOC2007 test; both
    # years hold the same scenes here, which is enough for the file formats.
    for year in ('2007', '2012'):
        year_dir = osp.join(out, f'VOC{year}')
        for split, items in scenes.items():
            for scene in items:
                _write_image(osp.join(year_dir, 'JPEGImages', f'{scene.name}.jpg'), scene.image)
                path = osp.join(year_dir, 'Annotations', f'{scene.name}.xml')
                os.makedirs(osp.dirname(path), exist_ok=True)
                with open(path, 'w') as f:
                    f.write(_voc_xml(scene, classes, year))
                for seg_dir in ('SegmentationClass', 'SegmentationClassAug'):
                    _write_image(osp.join(year_dir, seg_dir, f'{scene.name}.png'),
                                 scene.semantic)
            names = [scene.name for scene in items]
            _write_lines(osp.join(year_dir, 'ImageSets', 'Main',
                                  'trainval.txt' if split == 'train' else 'test.txt'), names)
            _write_lines(osp.join(year_dir, 'ImageSets', 'Segmentation', f'{split}.txt'), names)
            if split == 'train':
                _write_lines(osp.join(year_dir, 'ImageSets', 'Segmentation', 'aug.txt'), names)
    _add_voc_test_list(out)


def _add_voc_test_list(voc_root: str) -> None:
    """Write ``VOC2012/ImageSets/Segmentation/test.txt``: the val ids, unless it exists.

    The VOC 2012 test split has images and no public labels; the demo's test images are its
    val images, so the test-server path (predict, then package) runs on the demo data. The
    list is a copy of ``val.txt``: a tree written before this file existed (same stamp, every
    other byte the same) is completed in place instead of regenerated. The file is renamed
    into place, so concurrent callers write the same bytes and readers never see a part.
    """
    seg_sets = osp.join(voc_root, 'VOC2012', 'ImageSets', 'Segmentation')
    test_list = osp.join(seg_sets, 'test.txt')
    if osp.isfile(test_list):
        return
    with open(osp.join(seg_sets, 'val.txt'), 'rb') as f:
        atomic_write_bytes(f.read(), test_list, mode=0o644)


def _write_ade20k(out: str, scenes: dict) -> None:
    for split, items in scenes.items():
        folder = 'training' if split == 'train' else 'validation'
        for scene in items:
            _write_image(osp.join(out, 'images', folder, f'{scene.name}.jpg'), scene.image)
            # ADE20K reserves 0 for "other" (ignored through reduce_zero_label).
            _write_image(osp.join(out, 'annotations', folder, f'{scene.name}.png'),
                         scene.semantic + 1)


def _write_cityscapes(out: str, scenes: dict) -> None:
    for split, items in scenes.items():
        for index, scene in enumerate(items):
            # Cityscapes names are <city>_<sequence>_<frame>; one "city" per scene type.
            city = scene.name.split('_')[0]
            stem = f'{city}_{index:06d}_000019'
            _write_image(osp.join(out, 'leftImg8bit', split, city, f'{stem}_leftImg8bit.png'),
                         scene.image)
            _write_image(osp.join(out, 'gtFine', split, city, f'{stem}_gtFine_labelTrainIds.png'),
                         scene.semantic)


def generate_labelled_demo_data(root: str = 'data/demo_labelled',
                                formats: Sequence[str] = FORMATS,
                                num_train: int = 8,
                                num_val: int = 4,
                                image_size: int = 64,
                                classes: Sequence[str] = OBJECT_CATEGORIES,
                                min_area: int = 16,
                                seed: int = 0) -> dict[str, str]:
    """Write the labelled demo datasets under ``root`` (each one unless already there).

    Args:
        root: Output folder, laid out as the ``data/`` folder of the benchmark configs.
        formats: Any of ``'coco'``, ``'voc'``, ``'ade20k'``, ``'cityscapes'``.
        num_train: Images in the training split.
        num_val: Images in the validation/test split.
        image_size: Side of the square images.
        classes: Labelled categories, a subset of ``OBJECT_CATEGORIES`` in any order.
        min_area: Smallest visible object area (pixels) annotated as an instance.
        seed: Seed of the scene generator.

    Returns:
        dict[str, str]: Format -> dataset root (``root/coco``, ``root/VOCdevkit``,
        ``root/ade/ADEChallengeData2016``, ``root/cityscapes``).
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f'Unknown formats {unknown}; choose from {FORMATS}.')
    bad = [c for c in classes if c not in OBJECT_CATEGORIES]
    if bad or not classes or len(set(classes)) != len(classes):
        raise ValueError(f'classes must be distinct names from {OBJECT_CATEGORIES}, got '
                         f'{tuple(classes)}.')
    if num_train < 1 or num_val < 1 or image_size < 16:
        raise ValueError(f'need num_train, num_val >= 1 and image_size >= 16, got '
                         f'{num_train}, {num_val}, {image_size}.')
    classes = tuple(classes)

    # Rendered on the first write only: a call that finds every format in place renders
    # nothing.
    @functools.lru_cache(maxsize=1)
    def scenes() -> dict:
        return {
            split: [render_labelled_scene(seed, split, i, image_size, classes, min_area)
                    for i in range(count)]
            for split, count in (('train', num_train), ('val', num_val))
        }

    writers = {
        'coco': (root, 'coco', lambda out: _write_coco(out, scenes(), classes)),
        'voc': (root, 'VOCdevkit', lambda out: _write_voc(out, scenes(), classes)),
        'ade20k': (osp.join(root, 'ade'), 'ADEChallengeData2016',
                   lambda out: _write_ade20k(out, scenes())),
        'cityscapes': (root, 'cityscapes', lambda out: _write_cityscapes(out, scenes())),
    }
    stamp = (f'mmdense labelled demo data v{GENERATOR_VERSION}: num_train={num_train} '
             f'num_val={num_val} image_size={image_size} classes={",".join(classes)} '
             f'min_area={min_area} seed={seed}')
    roots = {fmt: publish_atomically(*writers[fmt], stamp) for fmt in formats}
    if 'voc' in roots:
        _add_voc_test_list(roots['voc'])  # trees published before test.txt was written
    return roots


def main(argv: list[str] | None = None) -> dict[str, str]:
    """Command line entry: ``python -m mmdense.datasets.demo.labelled --root DIR``."""
    parser = argparse.ArgumentParser(
        description='Write tiny labelled COCO / VOC / ADE20K / Cityscapes datasets.')
    parser.add_argument('--root', default='data/demo_labelled', help='output root folder')
    parser.add_argument('--formats', nargs='+', default=list(FORMATS), choices=FORMATS)
    parser.add_argument('--num-train', type=int, default=8)
    parser.add_argument('--num-val', type=int, default=4)
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--classes', nargs='+', default=list(OBJECT_CATEGORIES),
                        choices=OBJECT_CATEGORIES)
    parser.add_argument('--min-area', type=int, default=16)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    roots = generate_labelled_demo_data(args.root, args.formats, args.num_train, args.num_val,
                                        args.image_size, args.classes, args.min_area, args.seed)
    for fmt, path in roots.items():
        print(f'{fmt}: {path}')
    return roots


if __name__ == '__main__':
    main()
