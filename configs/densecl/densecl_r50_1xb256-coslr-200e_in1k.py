# DenseCL on ONE large GPU with the statistics of the 8x32 reference: batch 256 on one
# device, BN statistics over 8 sub-batches of 32 and the key batch shuffled between
# them (shuffle-BN emulation), same lr 0.03 for the same total batch.
_base_ = './densecl_r50_8xb32-coslr-200e_in1k.py'

# The dense InfoNCE over 256 x 7 x 7 = 12544 query cells and 65536 negatives has logits of
# 3.3 GB per fp32 copy. The loss keeps none of them for backward (its gradients are computed
# in forward); chunk_size bounds the transient buffer to 1568 cells (one sub-batch), 411 MB.
model = dict(bn_splits=8, loss=dict(chunk_size=1568))
train_dataloader = dict(batch_size=256, num_workers=16)
