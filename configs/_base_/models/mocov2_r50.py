model = dict(
    type='MoCoV2',
    queue_len=65536,
    feat_dim=128,
    momentum=0.999,
    # mmdet's ResNet: its state-dict keys are what mmdet/mmseg (and torchvision) load.
    # zero_init_residual=False matches torchvision's ResNet used by the MoCo reference.
    backbone=dict(
        type='mmdet.ResNet',
        depth=50,
        in_channels=3,
        out_indices=(3, ),
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(type='MoCoV2Neck', in_channels=2048, hid_channels=2048, out_channels=128),
    head=dict(type='ContrastiveHead', temperature=0.2))
