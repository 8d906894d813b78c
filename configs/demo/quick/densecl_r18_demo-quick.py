# The demo's DenseCL pre-training at the quick scale (configs/demo/quick.py): 8 images, 2 epochs
# of 2 iterations, the quick probes after each epoch; the settings of
# ../default/densecl_r18_demo-default.py, smaller.
_base_ = ['../../densecl/densecl_r18_demo.py', './probes_quick.py']

max_epochs = 2
model = dict(queue_len=4, momentum=0.99)  # one batch: 8 images leave room for 8 - 4 keys
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(data_root='data/demo/quick', num_images=8, image_size=96))
optim_wrapper = dict(optimizer=dict(lr=0.03 * 4 / 256))  # the linear rule, batch 4
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(type='DenseCLWarmupHook', start_iters=2),  # one epoch
    dict(type='FrozenProbeHook', interval=1, probes={{_base_.quick_probes}}),
]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=max_epochs,
                                                              max_keep_ckpts=1))
