# PixPro on ViT-B/16 (docs/vit.md): the pixel-propagation consistency on mmseg's
# VisionTransformer token grid (14x14 at 224 px): projector MLP2d 768-4096(BN)-256 on every
# token, PPM (gamma 2, one 1x1 conv) on the projected grid, positives within 0.7 bin
# diagonals of the 16-px token cells; momentum 0.99 raised to 1 by MomentumScheduleHook.
_base_ = ['./vit-b16_mmseg.py']

model = dict(
    type='PixPro',
    momentum=0.99,
    loss_instance_weight=0.0,
    backbone={{_base_.vit_backbone}},
    neck=dict(
        type='MLP2dNeck', in_channels=768, hid_channels=4096, out_channels=256,
        norm_cfg=dict(type='SyncBN')),
    ppm=dict(type='PixelPropagationModule', in_channels=256, gamma=2.0, num_transform_layers=1),
    loss=dict(type='PixelConsistencyLoss', pos_ratio=0.7))
