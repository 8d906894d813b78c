# DenseCL on ViT-S/16 (384 wide, 6 heads, 12 blocks: mmseg's DeiT-S UPerNet backbone), the
# ViT-B/16 recipe otherwise (MoCo v3: AdamW 1.5e-4 per 256 images, wd 0.1, 40 warm-up epochs,
# momentum 0.99 -> 1). Transfer: configs/benchmarks/mmseg/vit/upernet_vit-s16_*,
# configs/benchmarks/mmdet/vit/mask-rcnn_vit-s16-sfp_* (docs/vit.md).
_base_ = './densecl_vit-b16_8xb64-adamw-coslr-300e_in1k.py'

model = dict(
    backbone=dict(embed_dims=384, num_heads=6),
    neck=dict(in_channels=384))
