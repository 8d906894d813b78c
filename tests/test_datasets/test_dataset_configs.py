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


@pytest.mark.parametrize('name,cpu_name,writer,crop', [
    ('imagenet_mocov2_device-aug.py', 'imagenet_mocov2.py', write_imagenet, 224),
    ('coco_mocov2_device-aug.py', 'coco_mocov2.py', write_coco, 224),
    ('demo_mocov2_device-aug.py', 'demo_mocov2.py', None, 64),
    ('imagenet_byol_device-aug.py', 'imagenet_byol.py', write_imagenet, 224),
    ('demo_byol_device-aug.py', 'demo_byol.py', None, 96),
])
def test_device_aug_config_keeps_geometry_in_workers(tmp_path, write_image, name, cpu_name,
                                                     writer, crop):
    """The _device-aug twin of each dataset config: same loader and dataset, workers crop
    (recording boxes) and flip only, and the preprocessor carries the photometric ops."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    cpu = Config.fromfile(osp.join(CONFIG_DIR, cpu_name))
    loader, cpu_loader = cfg.train_dataloader.to_dict(), cpu.train_dataloader.to_dict()
    pipeline = loader['dataset'].pop('pipeline')
    cpu_pipeline = cpu_loader['dataset'].pop('pipeline')
    assert loader == cpu_loader
    views = pipeline[1]['transforms']
    assert [[t['type'] for t in view] for view in views] == [
        ['RandomResizedCropWithBox', 'RandomFlipWithBox']]
    cpu_crop = cpu_pipeline[1]['transforms'][0][0]
    assert views[0][0] == cpu_crop
    photometric = cfg.data_preprocessor.photometric
    assert sum([photometric.num_views] if isinstance(photometric.num_views, int)
               else photometric.num_views) == 2
    assert {k: v for k, v in cfg.data_preprocessor.items() if k != 'photometric'} == \
        cpu.data_preprocessor.to_dict()

    if writer is not None:
        writer(tmp_path, write_image)
    cfg.train_dataloader.dataset.data_root = str(tmp_path)
    if name.startswith('demo'):
        cfg.train_dataloader.dataset.num_images = 4
    item = DATASETS.build(cfg.train_dataloader.dataset)[0]
    assert [tuple(t.shape) for t in item['inputs']] == [(3, crop, crop)] * 2
    assert item['inputs'][0].dtype == torch.uint8
    assert item['data_samples'].view_boxes.shape == (2, 4)
