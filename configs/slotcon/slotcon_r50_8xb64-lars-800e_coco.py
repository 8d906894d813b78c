# SlotCon R50 on COCO train2017, 800 epochs: the authors' scripts/slotcon_coco_r50_800ep.sh
# (256 prototypes; the weights behind their COCO FPN 1x 41.0 / 37.0).
_base_ = [
    '../_base_/models/slotcon_r50.py',
    '../_base_/datasets/coco_slotcon.py',
    '../_base_/schedules/lars_coslr-100e.py',
    '../_base_/default_runtime.py',
]

# The authors' schedule: LARS (eta 0.001; 1-D parameters excluded from decay and adaptation),
# lr = base 1.0 x total batch / 256 = 2.0 at their 512 (8 x 64), wd 1e-5, momentum 0.9;
# per-iteration linear warm-up from lr/100 over 5 epochs, then cosine to 1e-6. They train
# with AMP (--fp16); turn ours on with `tools/train.py --amp` (GPU only).
optim_wrapper = dict(optimizer=dict(lr=1.0 * 512 / 256, weight_decay=1e-5))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=800)
auto_scale_lr = dict(base_batch_size=512, enable=False)
custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=3))
