_base_ = [
    '../_base_/models/densecl_r50.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]

# The dense loss is switched on after 1000 iterations, as in the authors' code.
custom_hooks = [dict(type='DenseCLWarmupHook', start_iters=1000)]
