# PixPro's 400-epoch schedule: lars_coslr-100e.py for 400 epochs (the cosine follows max_epochs).
_base_ = './lars_coslr-100e.py'

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400)
