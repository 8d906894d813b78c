"""Labelled demo data: deterministic, and read by mmdet's and mmseg's own dataset classes."""
import hashlib
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import DefaultScope

from mmdense.datasets.demo.labelled import generate_labelled_demo_data, render_labelled_scene
from mmdense.datasets.demo.scenes import render_scene

CLASSES = ('ellipse', 'polygon', 'blob', 'star')


def tree_digest(folder: str) -> dict:
    digests = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            with open(osp.join(dirpath, name), 'rb') as f:
                digests[osp.relpath(osp.join(dirpath, name), folder)] = hashlib.sha256(
                    f.read()).hexdigest()
    return digests


def test_instances_do_not_change_the_scene():
    with_instances = render_scene(np.random.default_rng(3), 48, 'street', return_instances=True)
    plain = render_scene(np.random.default_rng(3), 48, 'street')
    assert len(plain) == 2 and len(with_instances) == 3
    image, categories, instances = with_instances
    assert np.array_equal(image, plain[0]) and np.array_equal(categories, plain[1])
    assert np.array_equal(categories > 0, instances > 0)
    for k in np.unique(instances[instances > 0]):
        assert len(np.unique(categories[instances == k])) == 1  # one object, one category


def test_scene_labels_follow_the_class_subset():
    full = render_labelled_scene(0, 'train', 1, 64, CLASSES, min_area=1)
    subset = render_labelled_scene(0, 'train', 1, 64, ('star', 'ellipse'), min_area=1)
    assert np.array_equal(full.image, subset.image)
    # ellipse (full label 1) -> 2, star (4) -> 1, polygon/blob -> background.
    lut = np.array([0, 2, 0, 0, 1])
    assert np.array_equal(subset.semantic, lut[full.semantic])
    kept = [({0: 1, 3: 0}[label], mask) for label, mask in full.instances if label in (0, 3)]
    assert [label for label, _ in subset.instances] == [label for label, _ in kept]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(subset.instances, kept))


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    args = dict(num_train=2, num_val=1, image_size=32)
    a = tree_digest(
        generate_labelled_demo_data(str(tmp_path / 'a'), ['coco', 'voc'], **args)['voc'])
    b = tree_digest(
        generate_labelled_demo_data(str(tmp_path / 'b'), ['coco', 'voc'], **args)['voc'])
    c = tree_digest(
        generate_labelled_demo_data(str(tmp_path / 'c'), ['voc'], seed=1, **args)['voc'])
    assert a == b and len(a) > 10
    assert a.keys() == c.keys() and a != c
    assert tree_digest(str(tmp_path / 'a' / 'coco')) == tree_digest(str(tmp_path / 'b' / 'coco'))
    with pytest.raises(ValueError, match='classes must be'):
        generate_labelled_demo_data(str(tmp_path / 'd'), classes=('cat', ))


def test_mmdet_datasets_read_coco_and_voc(labelled_root):
    from mmdet.datasets import CocoDataset, VOCDataset
    root = labelled_root / 'data' / 'demo_labelled'
    load = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True)
    ]
    with DefaultScope.overwrite_default_scope('mmdet'):
        coco = CocoDataset(data_root=str(root / 'coco'),
                           ann_file='annotations/instances_train2017.json',
                           data_prefix=dict(img='train2017/'), metainfo=dict(classes=CLASSES),
                           filter_cfg=dict(filter_empty_gt=False), pipeline=load)
        voc = VOCDataset(data_root=str(root / 'VOCdevkit'),
                         ann_file='VOC2007/ImageSets/Main/trainval.txt',
                         data_prefix=dict(sub_data_root='VOC2007/'), metainfo=dict(classes=CLASSES),
                         pipeline=load[:1] + [dict(type='LoadAnnotations', with_bbox=True)],
                         test_mode=True)
        scene = render_labelled_scene(0, 'train', 0, 64, CLASSES, min_area=16)
        c, v = coco[0], voc[0]
    assert len(coco) == len(voc) == 8
    assert osp.basename(c['img_path']) == f'{scene.name}.jpg'
    assert c['gt_masks'].masks.shape == (len(scene.instances), 64, 64)
    for mask, (label, drawn), box, label_voc, box_voc in zip(
            c['gt_masks'].masks, scene.instances, c['gt_bboxes'].tensor, v['gt_bboxes_labels'],
            v['gt_bboxes'].tensor):
        assert np.array_equal(mask.astype(bool), drawn)  # RLE round trip is exact
        ys, xs = np.nonzero(drawn)
        assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        # mmdet reads VOC's 1-based inclusive corners as x - 1: the inclusive last pixel.
        assert box_voc.tolist() == [xs.min(), ys.min(), xs.max(), ys.max()]
        assert label == label_voc
    assert c['gt_bboxes_labels'].tolist() == [label for label, _ in scene.instances]


def test_mmseg_datasets_read_ade20k_cityscapes_and_voc(labelled_root):
    from mmseg.datasets import ADE20KDataset, CityscapesDataset, PascalVOCDataset
    root = labelled_root / 'data' / 'demo_labelled'
    load = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    scene = render_labelled_scene(0, 'val', 0, 64, CLASSES, min_area=16)
    with DefaultScope.overwrite_default_scope('mmseg'):
        ade = ADE20KDataset(
            data_root=str(root / 'ade' / 'ADEChallengeData2016'),
            data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
            pipeline=[load[0], dict(type='LoadAnnotations', reduce_zero_label=True)])
        city = CityscapesDataset(
            data_root=str(root / 'cityscapes'),
            data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'), pipeline=load)
        voc = PascalVOCDataset(
            data_root=str(root / 'VOCdevkit' / 'VOC2012'),
            data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
            ann_file='ImageSets/Segmentation/val.txt', pipeline=load)
        samples = {name: next(s for s in (d[i] for i in range(len(d)))
                              if scene.name.split('_')[0] in osp.basename(s['img_path']))
                   for name, d in (('ade', ade), ('city', city), ('voc', voc))}
    assert len(ade) == len(city) == len(voc) == 4
    # Every layout gives background 0 and classes[i] -> i + 1 after its own conventions.
    for sample in samples.values():
        assert np.array_equal(sample['gt_seg_map'], scene.semantic)
    assert samples['city']['img_path'].endswith('_leftImg8bit.png')
