# Synthetic demo scenes (data/demo_byol/, generated on first use) with SlotCon's augmentation
# of imagenet_slotcon.py at 96x96 (a 3x3 C5 grid for R18), for smoke tests and the CPU demo.
# MMEngine resolves a base file's variables when it loads it, so the pipelines are restated.
_base_ = './imagenet_slotcon.py'

dataset_type = 'DemoUnlabeledDataset'
data_root = 'data/demo_byol/'
crop_size = 96
data_preprocessor = dict(channels_last=False)

photometric = [
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
]
view_pipeline1 = [
    dict(type='PlannedResizedCropWithBox', size=crop_size, view_index=0,
         interpolation='bicubic'),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
    *photometric,
    dict(
        type='RandomApply',
        transforms=[dict(type='GaussianBlur', sigma_min=0.1, sigma_max=2.0)],
        prob=1.0),
]
view_pipeline2 = [
    dict(type='PlannedResizedCropWithBox', size=crop_size, view_index=1,
         interpolation='bicubic'),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
    *photometric,
    dict(
        type='RandomApply',
        transforms=[dict(type='GaussianBlur', sigma_min=0.1, sigma_max=2.0)],
        prob=0.1),
    dict(type='RandomApply', transforms=[dict(type='Solarize', threshold=128)], prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='SampleOverlappingCrops', scale=(0.08, 1.), min_overlap=0.01),
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
