# ImageNet-1k train split without labels, SlotCon's two-view augmentation (CVMI-Lab/SlotCon
# data/transforms.py CustomDataAugmentation): two 224 crops of scale (0.08, 1), bicubic, the
# second covering at least 1% of its area of the first (SampleOverlappingCrops), each flipped
# with p=0.5 (the flip is recorded in the view box); BYOL photometric: view 1 always blurred,
# view 2 blurred with p=0.1 and solarised (threshold 128) with p=0.2.
_base_ = './imagenet_preprocessor.py'

dataset_type = 'UnlabeledImageDataset'
data_root = 'data/imagenet/'
crop_size = 224

photometric = [
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
]
view_pipeline1 = [
    dict(type='PlannedResizedCropWithBox', size=crop_size, view_index=0,
         interpolation='bicubic'),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
    *photometric,
    dict(
        type='RandomApply',
        transforms=[dict(type='GaussianBlur', sigma_min=0.1, sigma_max=2.0)],
        prob=1.0),
]
view_pipeline2 = [
    dict(type='PlannedResizedCropWithBox', size=crop_size, view_index=1,
         interpolation='bicubic'),
    dict(type='RandomFlipWithBox', prob=0.5, direction='horizontal'),
    *photometric,
    dict(
        type='RandomApply',
        transforms=[dict(type='GaussianBlur', sigma_min=0.1, sigma_max=2.0)],
        prob=0.1),
    dict(type='RandomApply', transforms=[dict(type='Solarize', threshold=128)], prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile', reduced_decode=False),
    dict(type='SampleOverlappingCrops', scale=(0.08, 1.), min_overlap=0.01),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # pseudo_collate keeps per-view lists, which SelfSupDataPreprocessor stacks on the device.
    collate_fn=dict(type='pseudo_collate'),
    # Reseeds numpy/random in every worker from its per-epoch torch seed.
    worker_init_fn=dict(type='mmdense.seed_worker_from_torch_seed'),
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix=dict(img_path='train/'),
        pipeline=train_pipeline))
