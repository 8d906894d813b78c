# CPU-sized check of the ADE20K UPerNet ViT transfer config on the labelled demo data
# (python -m mmdense.datasets.demo.labelled --root data/demo_labelled): same model family
# (mmseg VisionTransformer + UPerNet), dataset class and optimiser as the benchmark; the
# backbone is the tiny ViT of configs/{densecl,pixpro}/*_vit-tiny-p8_demo.py (width 64,
# 4 blocks, 8-px patches), heads, sizes and length shrink.
_base_ = './upernet_vit-b16_8xb2-160k_ade20k-512x512.py'

data_root = 'data/demo_labelled/ade/ADEChallengeData2016'
crop_size = (64, 64)
max_iters = 20
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(img_size=crop_size, patch_size=8, embed_dims=64, num_layers=4, num_heads=4,
                  out_indices=(0, 1, 2, 3), drop_path_rate=0.0),
    decode_head=dict(in_channels=[64, 64, 64, 64], channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 64), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
# num_workers=0: the demo runs on a CPU shared with the main process.
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    # The benchmark's 1500-iteration warm-up has no room in 20 iterations; no `end`: the
    # poly decay follows the loop's max_iters.
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(by_epoch=False, interval=max_iters))
randomness = dict(seed=0)
