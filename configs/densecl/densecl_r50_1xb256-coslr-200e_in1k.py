# DenseCL on ONE large GPU with the statistics of the 8x32 reference: batch 256 on one
# device, BN statistics over 8 sub-batches of 32 and the key batch shuffled between
# them (shuffle-BN emulation), same lr 0.03 for the same total batch.
_base_ = './densecl_r50_8xb32-coslr-200e_in1k.py'

model = dict(bn_splits=8)
train_dataloader = dict(batch_size=256, num_workers=16)
