# CPU-sized PixPro on the built-in demo images (generated into data/demo_byol on first use).
# Same algorithm as the R50 configs (LARS, BYOL augmentation, cosine momentum); only the
# scale shrinks: R18, 96x96 crops (a 3x3 C5 grid), a 512-512-64 projector, plain BN.
_base_ = [
    '../_base_/models/pixpro_r50.py',
    '../_base_/datasets/demo_byol.py',
    '../_base_/schedules/lars_coslr-4e_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, hid_channels=512, out_channels=64, norm_cfg=dict(type='BN')),
    ppm=dict(in_channels=64))
# The first 32 of the 64 images, 4 iterations per epoch: 16 steps, about 30 s on two idle
# CPU cores (num_images would ask for another generated split than the PixContrast demo's).
train_dataloader = dict(dataset=dict(indices=32))
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=2, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
