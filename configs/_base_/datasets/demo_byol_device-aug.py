# demo_byol.py (synthetic demo scenes, 96x96 crops, BYOL's asymmetric views) with the
# photometric augmentation in the data preprocessor, as imagenet_byol_device-aug.py.
_base_ = './demo_byol.py'

crop_size = 96

view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=crop_size, scale=(0.08, 1.)),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

jitter_and_grey = [
    dict(type='BatchedColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1,
         prob=0.8),
    dict(type='BatchedRandomGrayscale', prob=0.2),
]
photometric_ops1 = jitter_and_grey + [
    dict(type='BatchedGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=1.0),
]
photometric_ops2 = jitter_and_grey + [
    dict(type='BatchedGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=0.1),
    dict(type='BatchedSolarize', threshold=128, prob=0.2),
]
data_preprocessor = dict(
    photometric=dict(num_views=[1, 1], transforms=[photometric_ops1, photometric_ops2]))
