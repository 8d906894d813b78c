# imagenet_byol.py (BYOL's asymmetric augmentation, crop scale (0.08, 1), ratio 3/4-4/3) plus
# each image's Felzenszwalb mask from data/imagenet/masks/<same relative path>.png, which the
# crop and flip carry with the view (tools/misc/generate_masks.py writes them; docs/detcon.md).
_base_ = './imagenet_byol.py'

train_pipeline = [
    dict(type='LoadImageFromFile', reduced_decode=False),
    dict(type='LoadFelzenszwalbMask', img_root='data/imagenet/', mask_root='data/imagenet/masks/'),
    dict(type='MultiView', num_views=[1, 1],
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
