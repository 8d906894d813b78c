# imagenet_byol.py (PixPro's BYOL asymmetric views) with the photometric half of the
# augmentation on the training device: workers decode, crop (recording the view box) and flip
# to uint8; jitter, grayscale, blur (view 1 p=1.0, view 2 p=0.1) and solarisation (view 2
# p=0.2) run batched in the data preprocessor with per-sample parameters
# (docs/benchmarks.md, "Photometric augmentation on the device").
_base_ = './imagenet_byol.py'

view_pipeline = [
    dict(type='RandomResizedCropWithBox', size={{_base_.crop_size}}, scale=(0.08, 1.)),
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
