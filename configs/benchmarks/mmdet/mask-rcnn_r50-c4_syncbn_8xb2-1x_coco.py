# COCO instance segmentation transfer, C4 variant (MoCo / DenseCL / PixPro protocol):
# Mask R-CNN R50-C4, SyncBN in the backbone and the res5 RoI head (plus MoCo's extra norm
# after res5), all stages trained, 1x schedule (12 epochs, batch 16 = 8 GPUs x 2).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py'
custom_imports = dict(imports=['mmdense.models', 'mmdense.engine'], allow_failed_imports=False)

pretrained = 'work_dirs/pretrain/backbone.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    roi_head=dict(
        shared_head=dict(
            type='mmdense.ResLayerExtraNorm', norm_cfg=norm_cfg, norm_eval=False,
            style='pytorch', init_cfg=dict(type='Pretrained', checkpoint=pretrained))),
    # detectron2's MODEL.RPN.BOUNDARY_THRESH -1: anchors crossing the border are kept
    # (mmdet's C4 base: allowed_border=0).
    train_cfg=dict(rpn=dict(allowed_border=-1)))
auto_scale_lr = dict(enable=False, base_batch_size=16)
# detectron2's SOLVER.WEIGHT_DECAY_NORM: 0 (no weight decay on BN weights and biases).
optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.))
# detectron2's COCO schedule: linear warm-up over 1000 iterations from 0.001 (mmdet: 500),
# x0.1 at 2/3 and 11/12 of the run; mmdet's epoch-based 1x (12 epochs) for its 90k iterations.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
# Evaluated once, at the end, as the authors' runs (detectron2's EVAL_PERIOD 0); mmdet's
# default evaluates every epoch (and precise BN would run before each).
train_cfg = dict(val_interval=12)
# detectron2's INPUT.MIN_SIZE_TRAIN (640..800 step 32, one chosen per image), MAX_SIZE 1333.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(640, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# detectron2's TEST.PRECISE_BN (on in the MoCo/DenseCL/PixPro detection configs, NUM_ITER 200):
# BN statistics re-estimated on 200 training iterations before each evaluation.
custom_hooks = [dict(type='mmdense.PreciseBNHook', num_iters=200)]
