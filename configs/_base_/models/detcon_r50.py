# DetCon-B (arXiv 2103.10957; google-deepmind/detcon detcon_b.py): R50 res5 -> 16 masks per
# view pooled -> projector and predictor Linear 4096-BN-ReLU-Linear 256 (no bias); EMA target
# 0.996 -> 1 by MomentumScheduleHook (set in the configs); DetConLoss T=0.1 with the targets of
# the whole global batch as negatives.
model = dict(
    type='DetCon',
    momentum=0.996,
    num_masks=16,
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
        # Haiku's ResNet v1 block (the authors' encoder) starts its last BN scale at zero.
        zero_init_residual=True),
    neck=dict(
        type='DetConMLP', in_channels=2048, hid_channels=4096, out_channels=256,
        norm_cfg=dict(type='SyncBN')),
    predictor=dict(
        type='DetConMLP', in_channels=256, hid_channels=4096, out_channels=256,
        norm_cfg=dict(type='SyncBN')),
    loss=dict(type='DetConLoss', temperature=0.1, gather=True))
