# CPU-sized PixContrast on the built-in demo images: the PixPro demo (R18, 96x96 crops,
# LARS, cosine momentum) with the PixContrast model at the same scale.
_base_ = '../pixpro/pixpro_r18_demo.py'

model = dict(
    _delete_=True,
    type='PixContrast',
    momentum=0.99,
    backbone=dict(
        type='mmdet.ResNet',
        depth=18,
        in_channels=3,
        out_indices=(3, ),
        norm_cfg=dict(type='BN'),
        norm_eval=False,  # BN trains, as in PixPro (see _base_/models/pixpro_r50.py)
        frozen_stages=-1,
        zero_init_residual=True),
    neck=dict(
        type='MLP2dNeck', in_channels=512, hid_channels=512, out_channels=64,
        norm_cfg=dict(type='BN')),
    loss=dict(type='PixContrastLoss', pos_ratio=0.7, neg_ratio=1.0, temperature=0.3))
