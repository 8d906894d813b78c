# The demo's transfer run at the quick scale: 4 iterations at the FCN config's lr 0.01.
_base_ = '../../benchmarks/mmseg/fcn_r18-d8_1xb4-20it_demo-ade20k-64x64.py'

max_iters = 4
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
