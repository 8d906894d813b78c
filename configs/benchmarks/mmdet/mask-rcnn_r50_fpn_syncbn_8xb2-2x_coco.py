# As the 1x FPN config, on the 2x schedule (24 epochs, lr steps at epochs 16 and 22).
_base_ = './mask-rcnn_r50_fpn_syncbn_8xb2-1x_coco.py'

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, by_epoch=True, milestones=[16, 22], gamma=0.1)
]
