# PixContrast R50 (paper Sec. 3.2), trained with PixPro's 100-epoch recipe (LARS lr 4.0,
# wd 1e-5, BYOL augmentation, crop (0.08, 1), momentum 0.99 -> 1): the public code has no
# PixContrast script. AMP: `tools/train.py --amp`.
_base_ = [
    '../_base_/models/pixcontrast_r50.py',
    '../_base_/datasets/imagenet_byol.py',
    '../_base_/schedules/lars_coslr-100e.py',
    '../_base_/default_runtime.py',
]

custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
