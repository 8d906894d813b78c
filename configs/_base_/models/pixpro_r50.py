# PixPro (arXiv 2011.10043) with the reference defaults: R50 C5 -> MLP2d projector
# 2048-4096-256 -> PPM (gamma 2, one 1x1 conv); pixel positives within 0.7 bin
# diagonals; momentum 0.99 raised to 1 by MomentumScheduleHook (set in the configs).
model = dict(
    type='PixPro',
    momentum=0.99,
    loss_instance_weight=0.0,
    backbone=dict(
        type='mmdet.ResNet',
        depth=50,
        in_channels=3,
        out_indices=(3, ),
        norm_cfg=dict(type='SyncBN'),
        # Pre-training trains BN and every stage: mmdet's defaults (norm_eval=True) are for
        # fine-tuning and would keep BN in eval mode (the model refuses that).
        norm_eval=False,
        frozen_stages=-1,
        zero_init_residual=True),
    neck=dict(
        type='MLP2dNeck', in_channels=2048, hid_channels=4096, out_channels=256,
        norm_cfg=dict(type='SyncBN')),
    ppm=dict(type='PixelPropagationModule', in_channels=256, gamma=2.0, num_transform_layers=1),
    loss=dict(type='PixelConsistencyLoss', pos_ratio=0.7))
