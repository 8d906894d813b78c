# imagenet_mocov2.py with the photometric half of the augmentation moved to the training
# device: workers decode, crop (recording the view box) and flip to uint8; colour jitter,
# grayscale and blur run batched in the data preprocessor with per-sample parameters, the same
# probabilities and ranges (docs/benchmarks.md, "Photometric augmentation on the device").
# The flip moves before the photometric ops, with which it commutes (all are per pixel or, for
# the blur, mirror-symmetric with replicated borders).
_base_ = './imagenet_mocov2.py'

view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=224, scale=(0.2, 1.)),
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
    dict(type='BatchedGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=0.5),
]
data_preprocessor = dict(photometric=dict(num_views=2, transforms=[photometric_ops]))
