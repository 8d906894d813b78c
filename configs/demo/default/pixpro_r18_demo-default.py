# `make demo`'s PixPro pre-training (configs/demo/default.py): the PixPro demo config (BYOL
# augmentation, LARS, cosine momentum) on the 256 generated demo images of the DenseCL and MoCo
# v2 runs, batch 16, 12 epochs (192 iterations), with the demo's probes. Its crops are the
# others' 64 pixels (a 2x2 C5 grid, as theirs), not pixpro_r18_demo.py's 96: at 96 a PixPro
# iteration costs 1.8x one at 64 on this CPU, which the demo's time budget cannot pay; the blur
# sigma is scaled to the crop as demo_mocov2.py scales it.
_base_ = ['../../pixpro/pixpro_r18_demo.py', '../../_base_/probes/demo_probes.py']

max_epochs = 12
crop_size = 64
blur_scale = crop_size / 224


def _at_crop_size(transform):
    """A BYOL view transform of demo_byol.py with the crop and blur of `crop_size`."""
    if transform['type'] == 'RandomResizedCropWithBox':
        return dict(transform, size=crop_size)
    if transform['type'] == 'RandomApply' and transform['transforms'][0]['type'] == 'GaussianBlur':
        return dict(transform, transforms=[dict(type='GaussianBlur', sigma_min=0.1 * blur_scale,
                                                sigma_max=2.0 * blur_scale)])
    return transform


view_pipeline1 = [_at_crop_size(t) for t in _base_.view_pipeline1]
view_pipeline2 = [_at_crop_size(t) for t in _base_.view_pipeline2]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,  # the demo runs two jobs on two cores; workers would contend
    dataset=dict(data_root='data/demo/default', num_images=256, image_size=96, indices=None,
                 pipeline=train_pipeline))
# 8x PixPro's linear rule (LARS 1.0 per 256 images), as DenseCL's demo does with its rule.
optim_wrapper = dict(optimizer=dict(lr=8 * 1.0 * 16 / 256))
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(type='MomentumScheduleHook'),
    dict(type='FrozenProbeHook', interval=6, probes={{_base_.demo_probes}}),
]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=max_epochs,
                                                              max_keep_ckpts=1))
