# PixPro's 400-epoch schedule: lars_coslr-100e.py with the cosine over epochs 5 to 400.
_base_ = './lars_coslr-100e.py'

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=395, eta_min=1e-6, by_epoch=True, begin=5, end=400,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400)
