"""UnlabeledImageDataset and COCOImageDataset: image lists from files and folders."""
import json
import os.path as osp

import pytest

from mmdense.datasets import COCOImageDataset, UnlabeledImageDataset
from mmdense.registry import DATASETS


@pytest.fixture
def image_tree(tmp_path, write_image):
    """An ImageNet-style tree with class folders, a flat image and files to be ignored."""
    root = tmp_path / 'imagenet'
    for i, rel in enumerate(['train/n02/b.JPEG', 'train/n01/a.jpg', 'train/flat.PNG',
                             'train/n01/c.bmp']):
        write_image(root / rel, seed=i)
    (root / 'train' / 'n01' / 'notes.txt').write_text('not an image')
    write_image(root / 'train' / '.cache' / 'hidden.jpg')
    return root


def test_folder_scan_finds_images_sorted_case_insensitively(image_tree):
    dataset = UnlabeledImageDataset(data_root=str(image_tree), data_prefix=dict(img_path='train/'))
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    prefix = osp.join(str(image_tree), 'train')
    assert paths == [osp.join(prefix, rel)
                     for rel in ['flat.PNG', 'n01/a.jpg', 'n01/c.bmp', 'n02/b.JPEG']]
    assert all(osp.isfile(path) for path in paths)
    assert set(dataset.get_data_info(0)) == {'img_path', 'sample_idx'}


def test_ann_file_drops_trailing_labels_and_keeps_spaces(image_tree):
    (image_tree / 'meta').mkdir()
    (image_tree / 'meta' / 'train.txt').write_text(
        'n01/a.jpg 0\n\nn02/b.JPEG 1\nmy dir/img 2.jpg 7\nflat.PNG\n')
    dataset = UnlabeledImageDataset(
        data_root=str(image_tree), ann_file='meta/train.txt', data_prefix=dict(img_path='train/'))
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    prefix = osp.join(str(image_tree), 'train')
    assert paths == [osp.join(prefix, rel)
                     for rel in ['n01/a.jpg', 'n02/b.JPEG', 'my dir/img 2.jpg', 'flat.PNG']]


def test_pipeline_loads_the_listed_image(image_tree):
    dataset = DATASETS.build(
        dict(
            type='UnlabeledImageDataset',
            data_root=str(image_tree),
            data_prefix=dict(img_path='train/'),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='PackSelfSupInputs')]))
    item = dataset[1]  # n01/a.jpg, 24x32
    assert [tuple(t.shape) for t in item['inputs']] == [(3, 24, 32)]
    assert item['data_samples'].img_path.endswith('n01/a.jpg')


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        UnlabeledImageDataset(data_root=str(tmp_path / 'nowhere'))


def test_empty_folder_is_a_value_error(tmp_path):
    (tmp_path / 'empty' / 'sub').mkdir(parents=True)
    (tmp_path / 'empty' / 'readme.txt').write_text('no images here')
    with pytest.raises(ValueError, match='No image files'):
        UnlabeledImageDataset(data_root=str(tmp_path / 'empty'))


def test_missing_or_empty_ann_file(image_tree):
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        UnlabeledImageDataset(data_root=str(image_tree), ann_file='missing.txt')
    (image_tree / 'blank.txt').write_text('\n\n')
    with pytest.raises(ValueError, match='empty'):
        UnlabeledImageDataset(data_root=str(image_tree), ann_file='blank.txt')


def test_coco_images_come_from_the_json_in_its_order(tmp_path, write_image):
    root = tmp_path / 'coco'
    for name in ['000000000009.jpg', '000000000025.jpg']:
        write_image(root / 'train2017' / name)
    (root / 'annotations').mkdir()
    coco = dict(
        images=[dict(id=25, file_name='000000000025.jpg', height=24, width=32),
                dict(id=9, file_name='000000000009.jpg', height=24, width=32)],
        annotations=[dict(id=1, image_id=9, category_id=1, bbox=[0, 0, 4, 4])],
        categories=[dict(id=1, name='thing')])
    (root / 'annotations' / 'instances_train2017.json').write_text(json.dumps(coco))
    dataset = COCOImageDataset(
        data_root=str(root),
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img_path='train2017/'))
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    # Both images, including 25 which has no annotation, in json order.
    assert paths == [osp.join(str(root), 'train2017', name)
                     for name in ['000000000025.jpg', '000000000009.jpg']]

    scanned = COCOImageDataset(data_root=str(root), data_prefix=dict(img_path='train2017/'))
    assert [scanned.get_data_info(i)['img_path'] for i in range(2)] == sorted(paths)


def test_coco_json_without_images_is_rejected(tmp_path, write_image):
    write_image(tmp_path / 'train2017' / 'a.jpg')
    (tmp_path / 'bad.json').write_text(json.dumps(dict(annotations=[])))
    with pytest.raises(ValueError, match='images'):
        COCOImageDataset(data_root=str(tmp_path), ann_file='bad.json',
                         data_prefix=dict(img_path='train2017/'))
