# DenseCL on scene-centric COCO train2017 images (118k, labels unused), 800 epochs.
_base_ = [
    '../_base_/models/densecl_r50.py',
    '../_base_/datasets/coco_mocov2.py',
    '../_base_/schedules/sgd_coslr-800e.py',
    '../_base_/default_runtime.py',
]

custom_hooks = [dict(type='DenseCLWarmupHook', start_iters=1000)]
default_hooks = dict(checkpoint=dict(interval=40, max_keep_ckpts=3))
