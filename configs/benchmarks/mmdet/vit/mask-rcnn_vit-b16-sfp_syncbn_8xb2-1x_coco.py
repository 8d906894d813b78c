# COCO instance segmentation transfer of a ViT-B/16 (docs/vit.md), ViTDet-style: Mask R-CNN
# on mmseg's VisionTransformer (the class the pre-training configs train; mmdet 3.3 ships no
# ViT) and ViTDet's simple feature pyramid from the last block (strides 4-32 plus P6; mmdense
# registers it, mmdet's wheel has none), heads as our R50-FPN benchmark (SyncBN 4conv1fc box
# head, SyncBN mask head), the same 1x schedule and multi-scale train sizes. Optimiser as
# ViTDet's ViT-B: AdamW lr 1e-4, wd 0.1, layer-wise lr decay 0.7, drop path 0.1.
# Differences from ViTDet: global attention in every block (ViTDet: windowed + 4 global,
# relative position biases), BN instead of LN in the RoI heads, 12 epochs at 1333x800
# instead of 100 epochs of large-scale jitter at 1024 px.
_base_ = '../mask-rcnn_r50_fpn_syncbn_8xb2-1x_coco.py'
custom_imports = dict(
    imports=['mmseg.models', 'mmdense.models', 'mmdense.engine',
             'mmdense.transfer.simple_feature_pyramid', 'mmdense.transfer.vit_layer_decay'],
    allow_failed_imports=False)

pretrained = 'work_dirs/pretrain/backbone.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmseg.VisionTransformer',
        # The pre-training grid: pos_embed keeps the checkpoint's shape and is resized to
        # each batch's token grid in forward (bicubic), as images vary in size.
        img_size=224,
        patch_size=16,
        in_channels=3,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        mlp_ratio=4,
        out_indices=(11, ),
        qkv_bias=True,
        drop_path_rate=0.1,
        with_cls_token=True,
        final_norm=False,
        norm_cfg=dict(type='LN', eps=1e-6),
        act_cfg=dict(type='GELU'),
        norm_eval=False,
        interpolate_mode='bicubic',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(
        _delete_=True,
        type='mmdense.SimpleFeaturePyramid',
        in_channels=768,
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_outs=5))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmdense.ViTLayerDecayOptimizerConstructor',
    paramwise_cfg=dict(num_layers=12, decay_rate=0.7),
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
