# COCO instance segmentation transfer of a ViT-S/16: the ViT-B/16 Mask R-CNN + simple feature
# pyramid config next to it with a 384-wide, 6-head backbone (ViTDet's ViT-S settings keep
# lr 1e-4, wd 0.1 and layer decay 0.7 over 12 blocks; drop path 0.1).
_base_ = './mask-rcnn_vit-b16-sfp_syncbn_8xb2-1x_coco.py'

model = dict(
    backbone=dict(embed_dims=384, num_heads=6),
    neck=dict(in_channels=384))
