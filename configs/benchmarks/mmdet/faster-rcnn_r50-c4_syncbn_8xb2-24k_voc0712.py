# VOC07+12 detection transfer (MoCo / DenseCL / PixPro protocol): Faster R-CNN R50-C4,
# SyncBN in the backbone and the res5 RoI head (plus MoCo's extra norm after res5), all
# stages trained, 24k iterations at batch 16 (8 GPUs x 2), train 480-800 px, test 800 px,
# evaluated with AP over IoU 0.5:0.95 (the COCO-style AP the papers report) plus AP50/AP75.
# Inherits mmdet's own config and changes only what the protocol needs.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'
custom_imports = dict(imports=['mmdense.models', 'mmdense.engine', 'mmdense.transfer'],
                      allow_failed_imports=False)

# Backbone file written by tools/model_converters/extract_backbone.py; the launcher
# (tools/benchmarks/mmdet/dist_train.sh) fills both init_cfg checkpoints from PRETRAIN.
pretrained = 'work_dirs/pretrain/backbone.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # Our checkpoints are torchvision-style: RGB input, ImageNet mean/std, stride in 3x3.
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    roi_head=dict(
        # res5 (layer4.*) comes from the same pre-trained file, as in detectron2's C4 head.
        shared_head=dict(
            type='mmdense.ResLayerExtraNorm', norm_cfg=norm_cfg, norm_eval=False,
            style='pytorch', init_cfg=dict(type='Pretrained', checkpoint=pretrained))))

max_iters = 24000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[18000, 22000], gamma=0.1)
]
# detectron2's train sizes: shorter side 480..800 in steps of 32, longer side <= 1333.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(480, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    # detectron2's VOC loader trains on "difficult" objects; mmdet would drop them.
    dict(type='mmdense.KeepDifficultBoxes'),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(datasets=[
    dict(type='VOCDataset', data_root='data/VOCdevkit/',
         ann_file='VOC2007/ImageSets/Main/trainval.txt', data_prefix=dict(sub_data_root='VOC2007/'),
         filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline),
    dict(type='VOCDataset', data_root='data/VOCdevkit/',
         ann_file='VOC2012/ImageSets/Main/trainval.txt', data_prefix=dict(sub_data_root='VOC2012/'),
         filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline)
]))
# VOC07 test uses the 11-point AP (as detectron2's evaluator does for 2007), at ten IoUs.
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points',
                     iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000, max_keep_ckpts=2))
# detectron2's SOLVER.WEIGHT_DECAY_NORM: 0 (no weight decay on BN weights and biases).
optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.))
auto_scale_lr = dict(enable=False, base_batch_size=16)
# detectron2's TEST.PRECISE_BN (on in the MoCo/DenseCL/PixPro detection configs, NUM_ITER 200):
# BN statistics re-estimated on 200 training iterations before each evaluation.
custom_hooks = [dict(type='mmdense.PreciseBNHook', num_iters=200)]
