# Synthetic demo scenes (generated into data/demo/ on first use) with the MoCo v2
# augmentation of imagenet_mocov2.py at 64x64: for smoke tests and CPU demos. MMEngine
# resolves a base file's variables when it loads it, so the view pipeline is restated
# here for the smaller crop (and the blur scaled to it), not inherited.
_base_ = './imagenet_mocov2.py'

dataset_type = 'DemoUnlabeledDataset'
data_root = 'data/demo/'
crop_size = 64
# The demo's figures (docs/demo.md) were measured in the default memory layout; tiny
# CPU models gain little from channels-last.
data_preprocessor = dict(channels_last=False)

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
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        num_images=64,
        image_size=96,
        pipeline=train_pipeline))
