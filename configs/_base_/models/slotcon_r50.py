# SlotCon (NeurIPS 2022) with the authors' defaults (CVMI-Lab/SlotCon, scripts/*_r50_*.sh):
# R50 C5 -> DINO-style 1x1-conv projector 2048-4096-4096-256 (BN, GELU) -> semantic grouping
# with 256 learnable prototypes (cosine / 0.07); slot predictor 256-4096-4096-256; group loss
# (student 0.1, teacher 0.07, centre momentum 0.9) and slot contrastive loss (T 0.2), weighted
# 0.5 / 0.5; teacher (encoder, projector, prototypes) momentum 0.99 raised to 1 by
# MomentumScheduleHook (set in the configs). SyncBN everywhere, as the authors convert all BN.
model = dict(
    type='SlotCon',
    momentum=0.99,
    group_loss_weight=0.5,
    center_momentum=0.9,
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
        # The authors' ResNet zeroes the last BN of every block (bag of tricks).
        zero_init_residual=True),
    neck=dict(
        type='DINOProjector2d', in_channels=2048, hid_channels=4096, out_channels=256,
        num_layers=3, norm_cfg=dict(type='SyncBN')),
    grouping=dict(type='SemanticGrouping', num_prototypes=256, dim=256, temperature=0.07),
    predictor=dict(
        type='SlotPredictor', in_channels=256, hid_channels=4096, out_channels=256,
        num_layers=3, norm_cfg=dict(type='SyncBN')),
    loss=dict(type='SlotContrastiveLoss', temperature=0.2),
    group_loss=dict(type='SlotConGroupLoss', student_temp=0.1, teacher_temp=0.07))
