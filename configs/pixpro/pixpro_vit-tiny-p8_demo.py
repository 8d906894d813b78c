# CPU-sized PixPro-ViT on the built-in demo images (generated into data/demo_byol on first
# use). Same algorithm and recipe as pixpro_vit-b16_8xb64-adamw-coslr-300e_in1k.py; only the
# scale shrinks: a 4-block ViT of width 64 with 8-px patches on 96-px crops (a 12x12 token
# grid), a 256-256-64 projector with plain BN.
_base_ = [
    '../_base_/models/pixpro_vit-b16.py',
    '../_base_/datasets/demo_byol.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(img_size=96, patch_size=8, embed_dims=64, num_layers=4, num_heads=4,
                  out_indices=(3, )),
    neck=dict(in_channels=64, hid_channels=256, out_channels=64, norm_cfg=dict(type='BN')),
    ppm=dict(in_channels=64))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4 * 8 / 256, betas=(0.9, 0.999), weight_decay=0.1))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True, begin=1,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4)
auto_scale_lr = dict(base_batch_size=8, enable=False)
# The first 32 of the 64 images, 4 iterations per epoch, as the R18 demo.
train_dataloader = dict(dataset=dict(indices=32))
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=2, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
