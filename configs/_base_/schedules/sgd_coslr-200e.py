# MoCo v2 / DenseCL schedule: SGD lr 0.03 for a total batch of 256 (8 GPUs x 32),
# cosine decay per epoch to 0, as in the papers' reference code.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
# No `end`/`T_max`: MMEngine ends the schedule at the loop's max_epochs and the cosine spans
# end - begin, so `train_cfg.max_epochs=N` alone gives a full cosine over N epochs.
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
# `tools/train.py --auto-scale-lr` rescales lr linearly to the actual total batch.
auto_scale_lr = dict(base_batch_size=256, enable=False)
