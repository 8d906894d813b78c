# CPU-sized check of the VOC12-aug linear probe config on the labelled demo data
# (python -m mmdense.datasets.demo.labelled --root data/demo_labelled): the same frozen,
# dilated ResNet, head, dataset classes (train + aug concatenated) and optimiser as the
# benchmark; only depth, sizes, length and the data loaders shrink.
_base_ = './linear_r50-d8_4xb4-40k_voc12aug-512x512.py'

data_root = 'data/demo_labelled/VOCdevkit/VOC2012'
crop_size = (64, 64)
max_iters = 20
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=512))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 64), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
dataset_train = dict(
    type='PascalVOCDataset',
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/train.txt',
    pipeline=train_pipeline)
dataset_aug = dict(
    type='PascalVOCDataset',
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    ann_file='ImageSets/Segmentation/aug.txt',
    pipeline=train_pipeline)
# num_workers=0: the demo runs on a CPU shared with the main process.
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(type='ConcatDataset', datasets=[dataset_train, dataset_aug]))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(by_epoch=False, interval=max_iters))
randomness = dict(seed=0)
