# CPU-sized check of the COCO Mask R-CNN ViT (simple feature pyramid) transfer config on the
# labelled demo data (python -m mmdense.datasets.demo.labelled --root data/demo_labelled):
# same detector, pyramid, dataset class, optimiser and layer decay as the benchmark; the
# backbone is the tiny ViT of configs/{densecl,pixpro}/*_vit-tiny-p8_demo.py (width 64,
# 4 blocks, 8-px patches: the last map is at stride 8, so the pyramid starts at stride 2),
# widths, image size, proposal counts and length shrink.
_base_ = './mask-rcnn_vit-b16-sfp_syncbn_8xb2-1x_coco.py'

data_root = 'data/demo_labelled/coco/'
metainfo = dict(classes=('ellipse', 'polygon', 'blob', 'star'))
max_iters = 20
# Strides of the pyramid from a stride-8 map (x4, x2, x1, x1/2, P6).
strides = [2, 4, 8, 16, 32]
model = dict(
    backbone=dict(img_size=64, patch_size=8, embed_dims=64, num_layers=4, num_heads=4,
                  out_indices=(3, ), drop_path_rate=0.0),
    neck=dict(in_channels=64, out_channels=64),
    rpn_head=dict(
        in_channels=64, feat_channels=64,
        anchor_generator=dict(scales=[4], strides=strides)),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, featmap_strides=strides[:4]),
        bbox_head=dict(in_channels=64, conv_out_channels=64, fc_out_channels=128,
                       num_classes=4),
        mask_roi_extractor=dict(out_channels=64, featmap_strides=strides[:4]),
        mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=4)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=20)))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=4))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(128, 112), (128, 128)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline,
                 ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/')))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline,
                 ann_file='annotations/instances_val2017.json', data_prefix=dict(img='val2017/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5)]
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
# Precise BN as the benchmark, on 2 iterations instead of 200 (CPU).
custom_hooks = [dict(type='mmdense.PreciseBNHook', num_iters=2)]
