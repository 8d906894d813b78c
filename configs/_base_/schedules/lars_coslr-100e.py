# PixPro's schedule: LARS (trust 0.001; biases and norm weights excluded from decay and
# adaptation), base lr 1.0 per 256 images (4.0 at the reference's 8x128), wd 1e-5,
# momentum 0.9; per-iteration linear warm-up from lr/100 over 5 epochs, then cosine
# to 1e-6. Plain OptimWrapper: the reference trains with AMP (apex O1); turn ours on
# with `tools/train.py --amp` (GPU only).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=4.0, momentum=0.9, weight_decay=1e-5, trust_coef=0.001))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    # No `end`/`T_max`: the cosine runs from the end of the warm-up to the loop's max_epochs,
    # so `train_cfg.max_epochs=N` alone keeps the shape for N epochs.
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=5,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
# `tools/train.py --auto-scale-lr` rescales lr linearly to the actual total batch.
auto_scale_lr = dict(base_batch_size=1024, enable=False)
