# Synthetic demo scenes (generated into data/demo/ on first use), MoCo v2
# augmentation at 64x64: for smoke tests and CPU demos.
dataset_type = 'DemoUnlabeledDataset'
data_root = 'data/demo/'
crop_size = 64

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=crop_size, scale=(0.2, 1.)),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
    dict(
        type='RandomApply',
        # MoCo v2's sigma range (0.1, 2.0) is for 224-pixel crops; scaled to 64 pixels, so
        # the blur removes as much of an object's detail as it does on ImageNet.
        transforms=[dict(type='GaussianBlur', sigma_min=0.1 * crop_size / 224,
                         sigma_max=2.0 * crop_size / 224)],
        prob=0.5),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        num_images=64,
        image_size=96,
        pipeline=train_pipeline))
