# ADE20K semantic segmentation transfer of a ViT-S/16: mmseg's DeiT-S UPerNet protocol
# unchanged (as the ViT-B/16 config next to it for DeiT-B), the backbone initialised from an
# mmdense ViT-S/16 checkpoint (densecl_vit-s16_* / pixpro_vit-s16_*).
_base_ = 'mmseg::vit/vit_deit-s16_upernet_8xb2-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmdense.models'], allow_failed_imports=False)

# Backbone file written by tools/model_converters/extract_backbone.py; the launcher
# (tools/benchmarks/mmseg/dist_train.sh) replaces it with PRETRAIN.
pretrained = 'work_dirs/pretrain/backbone.pth'
model = dict(
    pretrained=None,
    backbone=dict(norm_eval=False, init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
