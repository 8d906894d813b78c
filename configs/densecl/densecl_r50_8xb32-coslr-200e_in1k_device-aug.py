# densecl_r50_8xb32-coslr-200e_in1k.py with the MoCo v2 photometric augmentation (jitter,
# grayscale, blur) run batched on the training device instead of in the data loader workers:
# same distribution of views, fewer worker CPU cycles per image (docs/benchmarks.md,
# "Photometric augmentation on the device").
_base_ = [
    '../_base_/models/densecl_r50.py',
    '../_base_/datasets/imagenet_mocov2_device-aug.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]

# The dense loss is switched on after 1000 iterations, as in the authors' code.
custom_hooks = [dict(type='DenseCLWarmupHook', start_iters=1000)]
