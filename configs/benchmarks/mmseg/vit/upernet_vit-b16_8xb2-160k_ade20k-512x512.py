# ADE20K semantic segmentation transfer of a ViT-B/16 (docs/vit.md): mmseg's DeiT-B UPerNet
# protocol unchanged (UPerNet on blocks 3, 6, 9, 12 at stride 16, no neck, drop path 0.1,
# AdamW lr 6e-5 wd 0.01, 1500 warm-up iterations then poly, 160k iterations at 8 x 2), with
# the backbone initialised from an mmdense ViT checkpoint instead of DeiT's supervised weights.
# The pre-training configs train this very class (mmseg's VisionTransformer, same arguments),
# so the extracted file loads key for key; pos_embed (14x14 at 224 px) is bicubically resized
# to the 32x32 grid of 512-px crops by the backbone's own init_weights, as for DeiT weights.
_base_ = 'mmseg::vit/vit_deit-b16_upernet_8xb2-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmdense.models'], allow_failed_imports=False)

# Backbone file written by tools/model_converters/extract_backbone.py; the launcher
# (tools/benchmarks/mmseg/dist_train.sh) replaces it with PRETRAIN.
pretrained = 'work_dirs/pretrain/backbone.pth'
model = dict(
    pretrained=None,  # the base's DeiT file; ours goes through the backbone's init_cfg
    backbone=dict(norm_eval=False, init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
# Layer-wise lr decay is not part of this protocol (mmseg's DeiT/ViT UPerNet configs); the
# MAE/BEiT protocol uses it (0.65): optim_wrapper.constructor=
# 'mmdense.ViTLayerDecayOptimizerConstructor', paramwise_cfg=dict(num_layers=12,
# decay_rate=0.65), with custom_imports of mmdense.transfer.vit_layer_decay (docs/vit.md).
