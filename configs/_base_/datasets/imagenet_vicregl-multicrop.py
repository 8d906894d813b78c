# ImageNet-1k train split without labels, the default multi-crop of VICRegL's script
# (`--size-crops 224 96 --num-crops 2 6 --min_scale_crops 0.4 0.08 --max_scale_crops 1 0.4`):
# two 224 px crops of scale (0.4, 1) and six 96 px crops of scale (0.08, 0.4), bicubic, flip
# p 0.5; the colour distortion alternates within each size (crops 0, 2, 4: blurred always;
# 1, 3, 5: blur p 0.1, solarise p 0.2), so three local crops of each kind. View boxes and
# `ori_shape` feed the location matching (7x7 grids at 224 px, 3x3 at 96 px for ResNet-50).
# The model receives 8 views per image: global crops first, then the six local ones.
_base_ = './imagenet_preprocessor.py'

dataset_type = 'UnlabeledImageDataset'
data_root = 'data/imagenet/'
crop_size = 224
local_crop_size = 96

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
    dict(type='LoadImageFromFile', reduced_decode=False),
    dict(
        type='MultiView',
        num_views=[1, 1, 3, 3],
        transforms=[view_pipeline1, view_pipeline2, local_pipeline1, local_pipeline2]),
    # ori_shape: the location grids are in original-image pixels, as the authors'.
    dict(type='PackSelfSupInputs', meta_keys=['img_path', 'ori_shape']),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # pseudo_collate keeps per-view lists, which SelfSupDataPreprocessor stacks on the device.
    collate_fn=dict(type='pseudo_collate'),
    # Reseeds numpy/random in every worker from its per-epoch torch seed: without it,
    # restarted workers repeat the same augmentations every epoch.
    worker_init_fn=dict(type='mmdense.seed_worker_from_torch_seed'),
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix=dict(img_path='train/'),
        pipeline=train_pipeline))
