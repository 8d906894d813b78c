# DenseCL on ViT-B/16, ImageNet-1k, 8 GPUs x 64, with MoCo v3's ViT recipe (docs/vit.md):
# AdamW lr 1.5e-4 per 256 images (3e-4 at 512), wd 0.1, 40 linear warm-up epochs then a cosine
# to 0 over 300 epochs, momentum 0.99 -> 1 (cosine, per iteration). MoCo v2 augmentation and
# DenseCL's 1000-iteration global-only warm-up as the R50 config.
_base_ = [
    '../_base_/models/densecl_vit-b16.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/default_runtime.py',
]

max_epochs = 300
warmup_epochs = 40
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4 * 512 / 256, betas=(0.9, 0.999), weight_decay=0.1))
param_scheduler = [
    # MoCo v3 warms up from 0; LinearLR needs a positive start factor.
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    # No `end`: the cosine runs from the warm-up's end to the loop's max_epochs.
    dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True, begin=warmup_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# `tools/train.py --auto-scale-lr` rescales lr linearly to the actual total batch.
auto_scale_lr = dict(base_batch_size=512, enable=False)
custom_hooks = [
    dict(type='DenseCLWarmupHook', start_iters=1000),
    dict(type='MomentumScheduleHook'),
]
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
