# densecl_r18_demo.py with the photometric augmentation in the data preprocessor: the CPU-sized
# run of the device-augmentation switch (on a CPU the batched ops run on CPU tensors).
_base_ = [
    '../_base_/models/densecl_r50.py',
    '../_base_/datasets/demo_mocov2_device-aug.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]

max_epochs = 10
model = dict(
    queue_len=32,  # 4 batches: at demo scale a longer queue would hold the batch's own images
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512, out_channels=128))
optim_wrapper = dict(optimizer=dict(lr=0.03 * 8 / 256))  # linear scaling to batch 8
train_cfg = dict(max_epochs=max_epochs)
# 8 iterations of global-only warm-up, as densecl_r18_demo.py.
custom_hooks = [dict(type='DenseCLWarmupHook', start_iters=8)]
default_hooks = dict(
    logger=dict(interval=4), checkpoint=dict(interval=5, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
