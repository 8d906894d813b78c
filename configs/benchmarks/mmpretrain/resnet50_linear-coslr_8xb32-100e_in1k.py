# ImageNet-1k linear classification, the protocol mmpretrain ships for Barlow Twins: the
# same frozen res5 + linear head as the DenseCL protocol, but SGD lr 0.3, momentum 0.9,
# weight decay 1e-6, cosine decay over 100 epochs, batch 256 (8 GPUs x 32).
_base_ = './resnet50_linear-steplr_8xb32-100e_in1k.py'

optim_wrapper = dict(optimizer=dict(lr=0.3, weight_decay=1e-6))
# mmpretrain's imagenet_sgd_coslr_100e pins T_max=100/end=100; without them the cosine
# follows train_cfg.max_epochs.
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0)]
