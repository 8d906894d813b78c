# VICRegL R50 with the multi-crop default of the authors' script: 2 x 224 px (0.4, 1) +
# 6 x 96 px (0.08, 0.4); every view is paired with both global crops, globally and locally
# (location matching on 7x7 / 3x3 grids). The released R50 recipe otherwise (the script's
# own optimiser defaults, AdamW, are for ConvNeXt).
_base_ = [
    '../_base_/models/vicregl_r50.py',
    '../_base_/datasets/imagenet_vicregl-multicrop.py',
    '../_base_/schedules/lars_coslr-300e_vicregl.py',
    '../_base_/default_runtime.py',
]

model = dict(alpha=0.75)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
