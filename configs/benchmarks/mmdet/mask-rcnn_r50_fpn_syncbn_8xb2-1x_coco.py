# COCO instance segmentation transfer, FPN variant (MoCo / DenseCL / PixPro protocol,
# detectron2 Base-RCNN-FPN-BN): Mask R-CNN R50-FPN with SyncBN in the backbone, the FPN,
# a 4conv1fc box head and the mask head; all stages trained; 1x (12 epochs, batch 16).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdense.models', 'mmdense.engine'], allow_failed_imports=False)

pretrained = 'work_dirs/pretrain/backbone.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
auto_scale_lr = dict(enable=False, base_batch_size=16)
# detectron2's TEST.PRECISE_BN (on in the MoCo/DenseCL/PixPro detection configs, NUM_ITER 200):
# BN statistics re-estimated on 200 training iterations before each evaluation.
custom_hooks = [dict(type='mmdense.PreciseBNHook', num_iters=200)]
