# CPU-sized SlotCon on the built-in demo images (generated into data/demo_byol on first use).
# Same algorithm as the R50 configs (LARS, overlapping crops, cosine momentum, centring); only
# the scale shrinks: R18, 96x96 crops (a 3x3 C5 grid), a 512-512-512-64 projector, 32
# prototypes, a 64-256-256-64 predictor, plain BN.
_base_ = [
    '../_base_/models/slotcon_r50.py',
    '../_base_/datasets/demo_slotcon.py',
    '../_base_/schedules/lars_coslr-4e_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, hid_channels=512, out_channels=64, norm_cfg=dict(type='BN')),
    grouping=dict(num_prototypes=32, dim=64),
    predictor=dict(in_channels=64, hid_channels=256, out_channels=64,
                   norm_cfg=dict(type='BN1d')))
# The first 32 of the 64 images, 4 iterations per epoch: 16 steps.
train_dataloader = dict(dataset=dict(indices=32))
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=2, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
# SlotCon's base lr is 1.0 per 256 as the demo schedule's (lr 1.0 x 8 / 256); its wd 1e-5 too.
