"""The _base_ dataset configs parse, follow the MoCo v2 recipe and build working datasets."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmdense.registry import DATASETS

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')


def write_imagenet(root, write_image):
    for i, rel in enumerate(['n01/a.JPEG', 'n02/b.JPEG']):
        write_image(root / 'train' / rel, seed=i)
    (root / 'meta').mkdir()
    (root / 'meta' / 'train.txt').write_text('n01/a.JPEG 0\nn02/b.JPEG 1\n')


def write_coco(root, write_image):
    write_image(root / 'train2017' / '000000000001.jpg')
    (root / 'annotations').mkdir(parents=True)
    images = [dict(id=1, file_name='000000000001.jpg', height=24, width=32)]
    (root / 'annotations' / 'instances_train2017.json').write_text(
        json.dumps(dict(images=images, annotations=[], categories=[])))


@pytest.mark.parametrize('name,writer,batch_size,crop', [
    ('imagenet_mocov2.py', write_imagenet, 32, 224),
    ('coco_mocov2.py', write_coco, 32, 224),
    ('demo_mocov2.py', None, 8, 64),
])
def test_config_builds_two_view_dataset(tmp_path, write_image, name, writer, batch_size, crop):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    loader = cfg.train_dataloader
    assert loader.batch_size == batch_size and loader.drop_last
    assert loader.collate_fn.type == 'pseudo_collate' and loader.sampler.shuffle
    assert cfg.data_preprocessor.type == 'SelfSupDataPreprocessor' and cfg.data_preprocessor.to_rgb
    view_types = [t['type'] for t in cfg.view_pipeline]
    assert view_types == ['RandomResizedCropWithBox', 'RandomApply', 'RandomGrayscale',
                          'RandomApply', 'RandomFlipWithBox']
    assert cfg.view_pipeline[0]['scale'] == (0.2, 1.)

    if writer is not None:
        writer(tmp_path, write_image)
    loader.dataset.data_root = str(tmp_path)
    if name == 'demo_mocov2.py':
        loader.dataset.num_images = 4
    dataset = DATASETS.build(loader.dataset)
    item = dataset[0]
    assert [tuple(t.shape) for t in item['inputs']] == [(3, crop, crop)] * 2
    assert item['inputs'][0].dtype == torch.uint8
    assert item['data_samples'].view_boxes.shape == (2, 4)
