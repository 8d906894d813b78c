# CPU-sized DenseCL-ViT on the built-in demo images (generated into data/demo on first use).
# Same algorithm and recipe as densecl_vit-b16_8xb64-adamw-coslr-300e_in1k.py (AdamW, warm-up +
# cosine, momentum 0.99 -> 1, MoCo v3 BN heads); only the scale shrinks: a 4-block ViT of
# width 64 with 8-px patches on 64-px crops (an 8x8 token grid), 256-wide heads.
_base_ = [
    '../_base_/models/densecl_vit-b16.py',
    '../_base_/datasets/demo_mocov2.py',
    '../_base_/default_runtime.py',
]

max_epochs = 10
model = dict(
    queue_len=32,  # 4 batches: at demo scale a longer queue would hold the batch's own images
    backbone=dict(img_size=64, patch_size=8, embed_dims=64, num_layers=4, num_heads=4,
                  out_indices=(3, )),
    neck=dict(in_channels=64, hid_channels=256, out_channels=128))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4 * 8 / 256, betas=(0.9, 0.999), weight_decay=0.1))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True, begin=1,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=8, enable=False)
# 8 iterations of global-only warm-up (one epoch of 64 images at batch 8), as the R18 demo.
custom_hooks = [
    dict(type='DenseCLWarmupHook', start_iters=8),
    dict(type='MomentumScheduleHook'),
]
default_hooks = dict(
    logger=dict(interval=4), checkpoint=dict(interval=5, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
