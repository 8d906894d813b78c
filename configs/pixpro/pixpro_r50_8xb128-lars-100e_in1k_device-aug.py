# pixpro_r50_8xb128-lars-100e_in1k.py with BYOL's asymmetric photometric augmentation (jitter,
# grayscale, blur p=1.0 / 0.1, solarisation p=0 / 0.2) run batched on the training device; the
# workers keep the crops and flips whose view boxes PixPro's positives need (docs/benchmarks.md,
# "Photometric augmentation on the device").
_base_ = [
    '../_base_/models/pixpro_r50.py',
    '../_base_/datasets/imagenet_byol_device-aug.py',
    '../_base_/schedules/lars_coslr-100e.py',
    '../_base_/default_runtime.py',
]

custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
