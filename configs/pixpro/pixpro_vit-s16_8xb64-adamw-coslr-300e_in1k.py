# PixPro on ViT-S/16 (384 wide, 6 heads, 12 blocks: mmseg's DeiT-S UPerNet backbone), the
# ViT-B/16 recipe otherwise (docs/vit.md).
_base_ = './pixpro_vit-b16_8xb64-adamw-coslr-300e_in1k.py'

model = dict(
    backbone=dict(embed_dims=384, num_heads=6),
    neck=dict(in_channels=384))
