# MoCo v2 (arXiv 2003.04297) as in the reference code (facebookresearch/moco): torchvision's
# ResNet-50 (Kaiming fan-out convs, BN weight 1 / bias 0, no zero-init residual) and an
# fc-ReLU-fc head with PyTorch's default Linear init; mmdet's ResNet and our neck give exactly
# these. Its state-dict keys are what mmdet/mmseg (and torchvision) load.
model = dict(
    type='MoCoV2',
    queue_len=65536,
    feat_dim=128,
    momentum=0.999,
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
        zero_init_residual=False),
    neck=dict(type='MoCoV2Neck', in_channels=2048, hid_channels=2048, out_channels=128),
    loss=dict(type='InfoNCELoss', temperature=0.2))
