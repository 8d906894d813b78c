# pixpro_r18_demo.py with BYOL's photometric augmentation in the data preprocessor (on a CPU
# the batched ops run on CPU tensors).
_base_ = [
    '../_base_/models/pixpro_r50.py',
    '../_base_/datasets/demo_byol_device-aug.py',
    '../_base_/schedules/lars_coslr-4e_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, hid_channels=512, out_channels=64, norm_cfg=dict(type='BN')),
    ppm=dict(in_channels=64))
train_dataloader = dict(dataset=dict(indices=32))
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=2, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
