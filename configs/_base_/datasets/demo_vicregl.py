# Synthetic demo scenes (generated into data/demo_byol/, shared with the PixPro demo) with a
# shrunk VICRegL multi-crop: two 96 px crops of scale (0.4, 1) and two 64 px crops of scale
# (0.08, 0.4) (3x3 and 2x2 res5 maps for R18), the augmentation of
# imagenet_vicregl-multicrop.py otherwise. MMEngine resolves a base file's variables when it
# loads it, so the view pipelines are restated for the smaller crops.
_base_ = './imagenet_preprocessor.py'

dataset_type = 'DemoUnlabeledDataset'
data_root = 'data/demo_byol/'
crop_size = 96
local_crop_size = 64

# The colour distortion of the two kinds of view (BYOL's asymmetric one), shared by the
# global and the local crops of each kind.
photometric1 = [
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
photometric2 = [
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
global_crop = [
    dict(type='RandomResizedCropWithBox', size=crop_size, scale=(0.4, 1.),
         interpolation='bicubic'),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
]
local_crop = [
    dict(type='RandomResizedCropWithBox', size=local_crop_size, scale=(0.08, 0.4),
         interpolation='bicubic'),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
]
view_pipeline1 = global_crop + photometric1
view_pipeline2 = global_crop + photometric2
local_pipeline1 = local_crop + photometric1
local_pipeline2 = local_crop + photometric2
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiView',
        num_views=[1, 1, 1, 1],
        transforms=[view_pipeline1, view_pipeline2, local_pipeline1, local_pipeline2]),
    # ori_shape: the location grids are in original-image pixels, as the authors'.
    dict(type='PackSelfSupInputs', meta_keys=['img_path', 'ori_shape']),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    worker_init_fn=dict(type='mmdense.seed_worker_from_torch_seed'),
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        num_images=64,
        image_size=128,
        pipeline=train_pipeline))
