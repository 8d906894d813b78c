# ImageNet-1k linear classification on a frozen backbone, the DenseCL / MoCo v2 protocol
# (the same in DenseCL's code, mmselfsup and mmpretrain): res5, global average pool, one
# Linear(2048, 1000) with no BN before it; every stage and its BN statistics frozen
# (mmpretrain's ResNet with frozen_stages=4 keeps them in eval mode); SGD lr 30, momentum
# 0.9, no weight decay, x0.1 at epochs 60 and 80, 100 epochs, batch 256 (8 GPUs x 32);
# RandomResizedCrop 224 + flip, test resize 256 + centre crop 224. mmpretrain reports 63.50
# top-1 for DenseCL R50 200 epochs with this config.
_base_ = 'mmpretrain::densecl/benchmarks/resnet50_8xb32-linear-steplr-100e_in1k.py'

# Backbone file written by tools/model_converters/extract_backbone.py; the launcher
# (tools/benchmarks/mmpretrain/dist_train.sh) replaces it with PRETRAIN.
pretrained = 'work_dirs/pretrain/backbone.pth'
model = dict(
    backbone=dict(
        # Our backbone files hold a plain ResNet (no 'backbone.' prefix): prefix=None loads
        # them whole. mmpretrain's ResNet has the same keys as mmdet's (torchvision stem).
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix=None)))
