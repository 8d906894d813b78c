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
            style='pytorch', init_cfg=dict(type='Pretrained', checkpoint=pretrained))))
auto_scale_lr = dict(enable=False, base_batch_size=16)
# detectron2's TEST.PRECISE_BN (on in the MoCo/DenseCL/PixPro detection configs, NUM_ITER 200):
# BN statistics re-estimated on 200 training iterations before each evaluation.
custom_hooks = [dict(type='mmdense.PreciseBNHook', num_iters=200)]
