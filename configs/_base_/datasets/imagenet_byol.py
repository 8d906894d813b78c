# ImageNet-1k train split without labels, BYOL's asymmetric two-view augmentation
# as PixPro trains with it (`--aug BYOL --crop 0.08`): view 1 always blurred, view 2
# blurred with p=0.1 and solarised with p=0.2. Crop and flip record each view's box
# in the original image (`view_box`), which PixPro's pixel positives need.
_base_ = './imagenet_preprocessor.py'

dataset_type = 'UnlabeledImageDataset'
data_root = 'data/imagenet/'
crop_size = 224

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
    # reduced_decode: see imagenet_mocov2.py (off: the authors' pipeline exactly).
    dict(type='LoadImageFromFile', reduced_decode=False),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]

train_dataloader = dict(
    batch_size=128,
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
