# DenseCL on ViT-B/16 (docs/vit.md): DenseCL's two InfoNCE losses and queues on mmseg's
# VisionTransformer token grid (14x14 at 224 px), with MoCo v3's ViT heads (3-layer BN MLPs,
# 4096 hidden). The global vector is the mean of the patch tokens (the backbone drops the
# class token); the dense correspondence is the argmax of cosine similarity of the backbone
# patch tokens. Momentum 0.99 raised to 1 by MomentumScheduleHook, as MoCo v3 (set in configs).
_base_ = ['./vit-b16_mmseg.py']

model = dict(
    type='DenseCL',
    queue_len=65536,
    feat_dim=128,
    momentum=0.99,
    loss_lambda=0.5,
    backbone={{_base_.vit_backbone}},
    neck=dict(type='ViTDenseCLNeck', in_channels=768, hid_channels=4096, out_channels=128,
              num_layers=3, num_grid=None),
    loss=dict(type='InfoNCELoss', temperature=0.2))  # DenseCL's and MoCo v3's (ViT) T
