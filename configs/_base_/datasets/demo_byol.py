# Synthetic demo scenes (generated into data/demo_byol/ on first use; its own folder
# because the images are larger than demo_mocov2.py's) with the BYOL
# asymmetric augmentation of imagenet_byol.py at 96x96 (a 3x3 C5 grid for R18):
# for smoke tests and CPU demos of PixPro / PixContrast. MMEngine resolves a base file's
# variables when it loads it, so the view pipelines are restated for the smaller crop.
_base_ = './imagenet_byol.py'

dataset_type = 'DemoUnlabeledDataset'
data_root = 'data/demo_byol/'
crop_size = 96
# The demo's figures (docs/demo.md) were measured in the default memory layout; tiny
# CPU models gain little from channels-last.
data_preprocessor = dict(channels_last=False)

view_pipeline1 = [
    dict(type='RandomResizedCropWithBox', size=crop_size, scale=(0.08, 1.)),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
    dict(
        type='RandomApply',
        transforms=[dict(type='GaussianBlur', sigma_min=0.1, sigma_max=2.0)],
        prob=1.0),
]
view_pipeline2 = [
    dict(type='RandomResizedCropWithBox', size=crop_size, scale=(0.08, 1.)),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
    dict(
        type='RandomApply',
        transforms=[dict(type='GaussianBlur', sigma_min=0.1, sigma_max=2.0)],
        prob=0.1),
    dict(type='RandomApply', transforms=[dict(type='Solarize', threshold=128)], prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        num_images=64,
        image_size=128,
        pipeline=train_pipeline))
