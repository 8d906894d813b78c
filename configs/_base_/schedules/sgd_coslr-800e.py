# The MoCo v2 / DenseCL schedule over 800 epochs (DenseCL's COCO recipe); the cosine follows
# max_epochs (see sgd_coslr-200e.py).
_base_ = './sgd_coslr-200e.py'

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=800)
