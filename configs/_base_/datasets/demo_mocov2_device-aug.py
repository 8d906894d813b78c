# demo_mocov2.py (synthetic demo scenes, 64x64 crops) with the photometric augmentation in the
# data preprocessor, as imagenet_mocov2_device-aug.py: the CPU-sized run of the switch (on a
# CPU the batched ops run on the CPU tensors, the same code as on a GPU).
_base_ = './demo_mocov2.py'

crop_size = 64

view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=crop_size, scale=(0.2, 1.)),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

photometric_ops = [
    dict(type='BatchedColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1,
         prob=0.8),
    dict(type='BatchedRandomGrayscale', prob=0.2),
    # The blur scaled to the crop, as in demo_mocov2.py.
    dict(type='BatchedGaussianBlur', sigma_min=0.1 * crop_size / 224,
         sigma_max=2.0 * crop_size / 224, prob=0.5),
]
data_preprocessor = dict(photometric=dict(num_views=2, transforms=[photometric_ops]))
