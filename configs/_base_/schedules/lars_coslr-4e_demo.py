# The PixPro/PixContrast CPU demos' schedule: lars_coslr-100e.py for 4 epochs with one epoch of
# warm-up, lr scaled linearly to batch 8.
_base_ = './lars_coslr-100e.py'

optim_wrapper = dict(optimizer=dict(lr=1.0 * 8 / 256))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=1,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=4)
