# ADE20K semantic segmentation transfer: UPerNet-R50, 512x512 crops, 160k iterations at
# batch 16 (4 GPUs x 4), SyncBN, all stages trained (the MAE/BEiT-era UPerNet schedule).
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmdense.models'], allow_failed_imports=False)

# Backbone file written by tools/model_converters/extract_backbone.py; the launcher
# (tools/benchmarks/mmseg/dist_train.sh) replaces it with PRETRAIN.
pretrained = 'work_dirs/pretrain/backbone.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # mmseg's R50 is ResNetV1c (deep 3-conv stem, weights from open-mmlab://resnet50_v1c);
    # our checkpoints have the torchvision stem, so a plain ResNet with the same dilated
    # stages (strides and dilations are kept from the base) and no model-level `pretrained`.
    pretrained=None,
    backbone=dict(
        type='ResNet', norm_cfg=norm_cfg, norm_eval=False, frozen_stages=-1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
# mmseg's poly schedule without its pinned `end`: it follows train_cfg.max_iters, so a
# shorter or longer run keeps the whole decay.
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, by_epoch=False)]
