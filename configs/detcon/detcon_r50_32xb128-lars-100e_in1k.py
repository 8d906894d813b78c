# DetCon-B R50, 100 epochs on ImageNet-1k (the default of the authors' detcon_b_config.py):
# global batch 4096 (32 GPUs x 128), LARS base lr 0.2 x 4096 / 256 = 3.2, wd 1.5e-6, eta 1e-3,
# momentum 0.9, biases and norm weights excluded; linear warm-up over epochs // 100 (1 here),
# then cosine to 0; EMA 0.996 -> 1 on a cosine over all iterations.
_base_ = [
    '../_base_/models/detcon_r50.py',
    '../_base_/datasets/imagenet_detcon.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=3.2, momentum=0.9, weight_decay=1.5e-6, trust_coef=0.001))
param_scheduler = [
    # The authors warm up from 0; LinearLR needs a positive start factor.
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True, begin=1,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
auto_scale_lr = dict(base_batch_size=4096, enable=False)
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
