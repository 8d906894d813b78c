# PixPro R50, 100 epochs on ImageNet-1k, 8 GPUs x 128 (the authors' pixpro_base_r50_100ep.sh):
# LARS lr 4.0 (1.0 per 256), wd 1e-5, 5 warm-up epochs, BYOL augmentation with crop scale
# (0.08, 1), momentum 0.99 -> 1 on a cosine over all iterations. AMP: `tools/train.py --amp`.
_base_ = [
    '../_base_/models/pixpro_r50.py',
    '../_base_/datasets/imagenet_byol.py',
    '../_base_/schedules/lars_coslr-100e.py',
    '../_base_/default_runtime.py',
]

custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
