# CPU-sized VICRegL on the built-in demo images (generated into data/demo_byol on first use).
# Same algorithm as the R50 configs (LARS, multi-crop, global + local VICReg); only the scale
# shrinks: R18, 2 x 96 px + 2 x 64 px crops (3x3 and 2x2 res5 grids, so 4 / 2 location
# matches instead of 20 / 4), 512-512-512 and 256-256-256 expanders, plain BN, lr scaled
# linearly to batch 8, 4 epochs with one of warm-up.
_base_ = [
    '../_base_/models/vicregl_r50.py',
    '../_base_/datasets/demo_vicregl.py',
    '../_base_/schedules/lars_coslr-300e_vicregl.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, channels=(512, 512, 512), norm_cfg=dict(type='BN1d')),
    maps_neck=dict(in_channels=512, channels=(256, 256, 256), norm_cfg=dict(type='BN1d')),
    local_loss=dict(num_matches=(4, 2)))
optim_wrapper = dict(optimizer=dict(lr=0.2 * 8 / 256))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.001, by_epoch=True, begin=1,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=4)
# The first 32 of the 64 images, 4 iterations per epoch: 16 steps.
train_dataloader = dict(dataset=dict(indices=32))
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=2, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
