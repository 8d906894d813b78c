# Linear segmentation probe of frozen dense features on PASCAL VOC 2012 + SBD "aug"
# (VICRegL's protocol, facebookresearch/VICRegL segmentation/configs/
# linear_r50_512x512_40k_voc12aug.py, an mmseg 0.x config): the R50 backbone is frozen,
# weights and BN statistics, and the only trained layers are one norm over the 2048 res5
# channels and a 1x1 conv to the 21 classes, with dropout 0.1 in between. Output stride 8
# (dilated res4/res5), 512x512 crops, 40k iterations, SGD lr 0.01, momentum 0.9, wd 5e-4,
# poly 0.9 to 1e-4: the data pipeline and schedule of mmseg's VOC12-aug 40k configs, which
# the source inherits (_base_/datasets/pascal_voc12_aug.py, _base_/schedules/schedule_40k.py).
# Batch 4 per GPU is that base's; the source does not state its number of GPUs, so 4 GPUs
# (batch 16) follows mmseg's own 4xb4 VOC configs.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb4-40k_voc12aug-512x512.py'
# Registers LinearProbeHead (mmdense.transfer leaves it out: it imports mmseg).
custom_imports = dict(imports=['mmdense.models', 'mmdense.transfer.linear_seg_head'],
                      allow_failed_imports=False)

# Backbone file written by tools/model_converters/extract_backbone.py; the launcher
# (tools/benchmarks/mmseg/dist_train.sh) replaces it with PRETRAIN.
pretrained = 'work_dirs/pretrain/backbone.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # The torchvision stem of our checkpoints: mmseg's plain ResNet with the base's dilated
    # stages (strides 1,2,1,1, dilations 1,1,2,4, contract_dilation), not ResNetV1c.
    pretrained=None,
    backbone=dict(
        type='ResNet',
        norm_cfg=norm_cfg,
        # frozen_stages=4 fixes the stem and res2-res5 (requires_grad=False, eval mode on
        # every train()). The source keeps norm_eval=False, which with frozen_stages=4 has
        # the same effect in mmseg's ResNet; norm_eval=True states it.
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(
        _delete_=True,
        type='mmdense.LinearProbeHead',
        in_channels=2048,
        in_index=3,
        channels=2048,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    # No auxiliary head, as in the source (a head on frozen res4 would only train itself).
    auxiliary_head=None)
# mmseg's poly schedule without its pinned `end`: it follows train_cfg.max_iters.
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, by_epoch=False)]
