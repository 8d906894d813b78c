# CPU-sized DetCon-B on the built-in demo images (generated into data/demo_byol on first use,
# their Felzenszwalb masks too). Same algorithm as the R50 configs (LARS, BYOL augmentation,
# cosine EMA, 16 masks per view); only the scale shrinks: R18, 96x96 crops (a 3x3 res5 grid),
# a 512-512-64 projector and 64-512-64 predictor, plain BN.
_base_ = [
    '../_base_/models/detcon_r50.py',
    '../_base_/datasets/demo_detcon.py',
    '../_base_/schedules/lars_coslr-4e_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, hid_channels=512, out_channels=64, norm_cfg=dict(type='BN1d')),
    predictor=dict(in_channels=64, hid_channels=512, out_channels=64,
                   norm_cfg=dict(type='BN1d')))
# DetCon's lr: 0.2 per 256 images, batch 8.
optim_wrapper = dict(optimizer=dict(lr=0.2 * 8 / 256, weight_decay=1.5e-6))
train_dataloader = dict(dataset=dict(indices=32))
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=2, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
