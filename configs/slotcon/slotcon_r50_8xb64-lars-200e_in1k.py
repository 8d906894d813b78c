# SlotCon R50 on ImageNet-1k, 200 epochs: the authors' scripts/slotcon_imagenet_r50_200ep.sh,
# i.e. the COCO recipe with 2048 prototypes (their COCO FPN 1x 41.8 / 37.8).
_base_ = [
    '../_base_/models/slotcon_r50.py',
    '../_base_/datasets/imagenet_slotcon.py',
    '../_base_/schedules/lars_coslr-100e.py',
    '../_base_/default_runtime.py',
]

model = dict(grouping=dict(num_prototypes=2048))
# As slotcon_r50_8xb64-lars-800e_coco.py: lr 1.0 x 512 / 256, wd 1e-5, 5 warm-up epochs.
optim_wrapper = dict(optimizer=dict(lr=1.0 * 512 / 256, weight_decay=1e-5))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=512, enable=False)
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
