# PixContrast R50 (paper Sec. 3.2), trained with PixPro's 100-epoch recipe (LARS lr 4.0,
# wd 1e-5, BYOL augmentation, crop (0.08, 1), momentum 0.99 -> 1): the public code has no
# PixContrast script. Pixel InfoNCE, T=0.3; positives within 0.7 bin diagonals, negatives
# beyond 1.0 (the reference's --pixpro-neg-ratio). AMP: `tools/train.py --amp`.
_base_ = '../pixpro/pixpro_r50_8xb128-lars-100e_in1k.py'

model = dict(
    _delete_=True,
    type='PixContrast',
    momentum=0.99,
    backbone=dict(
        type='mmdet.ResNet',
        depth=50,
        in_channels=3,
        out_indices=(3, ),
        norm_cfg=dict(type='SyncBN'),
        norm_eval=False,  # BN trains, as in PixPro (see _base_/models/pixpro_r50.py)
        frozen_stages=-1,
        zero_init_residual=True),
    neck=dict(
        type='MLP2dNeck', in_channels=2048, hid_channels=4096, out_channels=256,
        norm_cfg=dict(type='SyncBN')),
    loss=dict(type='PixContrastLoss', pos_ratio=0.7, neg_ratio=1.0, temperature=0.3))
