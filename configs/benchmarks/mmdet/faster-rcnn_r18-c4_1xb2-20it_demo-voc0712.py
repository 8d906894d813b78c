# CPU-sized check of the VOC07+12 Faster R-CNN C4 transfer config on the labelled demo data
# (python -m mmdense.datasets.demo.labelled --root data/demo_labelled): same detector,
# res5 head (pre-trained, extra norm), dataset class and metric as the benchmark; depth,
# widths, image size, proposal counts and length shrink.
_base_ = './faster-rcnn_r50-c4_syncbn_8xb2-24k_voc0712.py'

data_root = 'data/demo_labelled/VOCdevkit/'
metainfo = dict(classes=('ellipse', 'polygon', 'blob', 'star'))
max_iters = 20
model = dict(
    backbone=dict(depth=18),
    rpn_head=dict(
        in_channels=256, feat_channels=256,
        # The demo objects are 10-40 px at the 128 px demo scale.
        anchor_generator=dict(scales=[1, 2, 4, 8])),
    roi_head=dict(
        shared_head=dict(depth=18),
        bbox_roi_extractor=dict(out_channels=256),
        bbox_head=dict(in_channels=512, num_classes=4)),
    # res5 runs once per RoI, so the RoI counts set the CPU cost.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=100),
        rcnn=dict(sampler=dict(num=16))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=20)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', scales=[(256, 112), (256, 128), (256, 144)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmdense.KeepDifficultBoxes'),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(datasets=[
        dict(type='VOCDataset', data_root=data_root, metainfo=metainfo,
             ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
             data_prefix=dict(sub_data_root=f'VOC{year}/'),
             filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline)
        for year in (2007, 2012)
    ]))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5)]
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
# Precise BN as the benchmark, on 2 iterations instead of 200 (CPU).
custom_hooks = [dict(type='mmdense.PreciseBNHook', num_iters=2)]
