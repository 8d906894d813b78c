# ImageNet-1k linear classification, the protocol mmpretrain ships for BYOL, SimCLR,
# SimSiam and SwAV: the same frozen res5 + linear head as the DenseCL protocol, but LARS
# lr 1.6, momentum 0.9, no weight decay, cosine decay over 90 epochs, batch 4096
# (8 GPUs x 512). Use it to compare with figures those methods report.
_base_ = './resnet50_linear-steplr_8xb32-100e_in1k.py'

train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='LARS', lr=1.6, momentum=0.9,
                                    weight_decay=0.))
# mmpretrain's imagenet_lars_coslr_90e pins T_max=90/end=90; without them the cosine
# follows train_cfg.max_epochs.
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0)]
train_cfg = dict(max_epochs=90)
