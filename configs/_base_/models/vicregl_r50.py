# VICRegL (arXiv 2210.01571) with the authors' R50 defaults: res5 -> average pool -> expander
# 2048-8192-8192-8192; res5 map -> maps expander 2048-512-512-512 at every location;
# VICReg coefficients inv 25 / var 25 / cov 1; location matches (20, 4), every feature match;
# loss = alpha global + (1 - alpha) local, alpha 0.75. No momentum encoder.
model = dict(
    type='VICRegL',
    alpha=0.75,
    mirror_flip_grid=False,  # the authors' default --no-flip-grid 1
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
        type='VICRegExpander', in_channels=2048, channels=(8192, 8192, 8192),
        norm_cfg=dict(type='SyncBN')),
    maps_neck=dict(
        type='VICRegExpander', in_channels=2048, channels=(512, 512, 512),
        norm_cfg=dict(type='SyncBN')),
    loss=dict(type='VICRegLoss', inv_coeff=25.0, var_coeff=25.0, cov_coeff=1.0),
    local_loss=dict(
        type='VICRegLLocalLoss', num_matches=(20, 4), l2_all_matches=True, inv_coeff=25.0,
        var_coeff=25.0, cov_coeff=1.0))
