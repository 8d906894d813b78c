# demo_byol.py's images and 96-px BYOL views, with Felzenszwalb masks that the demo dataset
# writes beside its generated images on first use (data/demo_byol/unlabeled/masks/), at a
# scale and minimum segment size shrunk with the image area (128 px images: 100 / 100).
_base_ = './demo_byol.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadFelzenszwalbMask', img_root='data/demo_byol/unlabeled/'),
    dict(type='MultiView', num_views=[1, 1],
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(
    dataset=dict(type='DemoMaskedDataset', mask_scale=100., mask_min_size=100,
                 pipeline=train_pipeline))
