# DenseCL (arXiv 2011.09157) as in the authors' code (WXinlong/DenseCL, OpenSelfSup-based):
# ResNet-50 convs Kaiming-normal in fan-in mode, BN weight 1 / bias 0, no zero-init residual;
# the neck's Linear layers Kaiming fan-in with zero bias, its 1x1 convs PyTorch's default.
# mmdet's own default (fan-out) differs from theirs, hence the explicit init_cfg
# (docs/algorithms.md, "Defaults we inherit").
model = dict(
    type='DenseCL',
    queue_len=65536,
    feat_dim=128,
    momentum=0.999,
    loss_lambda=0.5,
    backbone=dict(
        type='mmdet.ResNet',
        depth=50,
        in_channels=3,
        out_indices=(3, ),
        norm_cfg=dict(type='BN'),
        # Pre-training trains BN and every stage: mmdet's defaults (norm_eval=True) are for
        # fine-tuning and would keep BN in eval mode (the model refuses that).
        norm_eval=False,
        frozen_stages=-1,
        zero_init_residual=False,
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d', mode='fan_in'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]),
    neck=dict(
        type='DenseCLNeck', in_channels=2048, hid_channels=2048, out_channels=128, num_grid=None,
        init_cfg=dict(type='Kaiming', layer='Linear', mode='fan_in')),
    loss=dict(type='InfoNCELoss', temperature=0.2))  # shared by the global and dense losses
