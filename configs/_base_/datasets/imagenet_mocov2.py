# ImageNet-1k train split without labels, MoCo v2 augmentation (two views).
# Layout: data/imagenet/train/<wnid>/<name>.JPEG and data/imagenet/meta/train.txt.
_base_ = './imagenet_preprocessor.py'

dataset_type = 'UnlabeledImageDataset'
data_root = 'data/imagenet/'

view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=224, scale=(0.2, 1.)),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
    dict(
        type='RandomApply',
        transforms=[dict(type='GaussianBlur', sigma_min=0.1, sigma_max=2.0)],
        prob=0.5),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    # reduced_decode=True samples each crop from the JPEG header and decodes at 1/2, 1/4 or
    # 1/8 size when the crop still has >= 1 source pixel per output pixel along each side
    # (docs/benchmarks.md): same crops and boxes, pixels differ by resampling only. Off here,
    # to keep the authors' pipeline exactly; on ImageNet-sized (500 x 375) images no 224 px
    # crop allows a reduction anyway. Switch: --cfg-options
    # train_dataloader.dataset.pipeline.0.reduced_decode=True
    dict(type='LoadImageFromFile', reduced_decode=False),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]

train_dataloader = dict(
    batch_size=32,
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
