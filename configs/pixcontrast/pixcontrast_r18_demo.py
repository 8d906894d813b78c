# CPU-sized PixContrast on the built-in demo images: the PixContrast model at the PixPro
# demo's scale (R18, 96x96 crops, LARS, cosine momentum; see pixpro/pixpro_r18_demo.py).
_base_ = [
    '../_base_/models/pixcontrast_r50.py',
    '../_base_/datasets/demo_byol.py',
    '../_base_/schedules/lars_coslr-4e_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, hid_channels=512, out_channels=64, norm_cfg=dict(type='BN')))
train_dataloader = dict(dataset=dict(indices=32))
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=2, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
