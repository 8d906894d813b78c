# Frozen-backbone FCN on PASCAL VOC 2012 + SBD "aug": the DenseCL VOC transfer config
# (FCN-R50-D8, 512x512, 20k iterations at batch 16, SyncBN) with the backbone frozen, weights
# and BN statistics, so that only the FCN head (two 3x3 conv-BN-ReLU, concat of the input,
# 1x1 classifier) trains. Between the linear probe (one norm and a 1x1 conv) and full
# fine-tuning: it measures the frozen features with a head that can still combine
# neighbouring positions.
_base_ = './fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512.py'

model = dict(
    # frozen_stages=4: stem and res2-res5 fixed (requires_grad=False, eval mode on every
    # train()); norm_eval=True keeps every backbone BN in eval mode as well.
    backbone=dict(frozen_stages=4, norm_eval=True),
    # The fine-tuning config's auxiliary FCN head on res4 is dropped: with res4 frozen its
    # loss reaches no other weight, so it would only cost compute.
    auxiliary_head=None)
