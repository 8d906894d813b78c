# PixContrast (arXiv 2011.10043, Sec. 3.2) on PixPro's encoder and projector (see
# pixpro_r50.py for their initialisation): pixel InfoNCE, T=0.3; positives within 0.7 bin
# diagonals, negatives beyond 1.0 (the reference's --pixpro-neg-ratio); no PPM. Momentum
# 0.99 raised to 1 by MomentumScheduleHook (set in the configs).
model = dict(
    type='PixContrast',
    momentum=0.99,
    backbone=dict(
        type='mmdet.ResNet',
        depth=50,
        in_channels=3,
        out_indices=(3, ),
        norm_cfg=dict(type='SyncBN'),
        # Pre-training trains BN and every stage (the model refuses anything else).
        norm_eval=False,
        frozen_stages=-1,
        zero_init_residual=True),
    neck=dict(
        type='MLP2dNeck', in_channels=2048, hid_channels=4096, out_channels=256,
        norm_cfg=dict(type='SyncBN')),
    loss=dict(type='PixContrastLoss', pos_ratio=0.7, neg_ratio=1.0, temperature=0.3))
