# `make demo`'s DenseCL pre-training (configs/demo/default.py): the DenseCL demo config on the
# 256 generated demo images (96 px, 64-pixel crops), batch 16, 12 epochs (192 iterations), with
# the demo's frozen-feature probes before training and every 6 epochs; about 100 s on one CPU
# core. `tools/train.py` on this file runs exactly one of the demo's DenseCL runs (seed 0).
_base_ = ['../../densecl/densecl_r18_demo.py', '../../_base_/probes/demo_probes.py']

max_epochs = 12
model = dict(
    queue_len=64,  # four batches: a longer queue would hold the batch's own images as negatives
    # The key encoder's EMA time constant, 1 / (1 - m), must be short against the run: 0.999
    # (1000 iterations) would leave it near its random init for the whole demo. 0.99 is the
    # value the MoCo paper also reports as working.
    momentum=0.99)
train_dataloader = dict(
    batch_size=16,
    num_workers=0,  # the demo runs two jobs on two cores; workers would contend
    dataset=dict(data_root='data/demo/default', num_images=256, image_size=96))
# 8x the configs' linear rule (0.03 per 256): 192 iterations are a tiny fraction of the
# reference 200 epochs, and the linear-rule rate barely moves the weights in that time.
optim_wrapper = dict(optimizer=dict(lr=0.015))
train_cfg = dict(max_epochs=max_epochs)
# 16 iterations of global-only warm-up (the reference's 1000 scaled): one epoch on one process;
# the hook counts iterations, so with N processes it lasts N epochs.
custom_hooks = [
    dict(type='DenseCLWarmupHook', start_iters=16),
    dict(type='FrozenProbeHook', interval=6, probes={{_base_.demo_probes}}),
]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=max_epochs,
                                                              max_keep_ckpts=1))
