# ImageNet-1k train split without labels, VICRegL's released ResNet-50 recipe
# (`--size-crops 224 --num-crops 2 --min_scale_crops 0.08 --max_scale_crops 1.0`): two 224 px
# crops, bicubic, flip p 0.5, then the authors' asymmetric colour distortion (view 1 blurred
# always, view 2 blurred with p 0.1 and solarised with p 0.2). The crop and flip record each
# view's box in the original image, and `ori_shape` travels to the model, which places the
# cells of the res5 maps in original-image pixels for the location matching.
_base_ = './imagenet_preprocessor.py'

dataset_type = 'UnlabeledImageDataset'
data_root = 'data/imagenet/'
crop_size = 224

view_pipeline1 = [
    dict(type='RandomResizedCropWithBox', size=crop_size, scale=(0.08, 1.),
         interpolation='bicubic'),
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
    dict(type='RandomResizedCropWithBox', size=crop_size, scale=(0.08, 1.),
         interpolation='bicubic'),
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
    dict(type='LoadImageFromFile', reduced_decode=False),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
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
