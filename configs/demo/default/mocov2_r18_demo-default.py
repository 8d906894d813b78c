# `make demo`'s MoCo v2 pre-training (configs/demo/default.py): the MoCo v2 demo config on the
# 256 generated demo images, batch 16, 12 epochs (192 iterations), with the demo's probes. Same
# settings as densecl_r18_demo-default.py, where each is explained.
_base_ = ['../../mocov2/mocov2_r18_demo.py', '../../_base_/probes/demo_probes.py']

max_epochs = 12
model = dict(queue_len=64, momentum=0.99)
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    dataset=dict(data_root='data/demo/default', num_images=256, image_size=96))
optim_wrapper = dict(optimizer=dict(lr=0.015))
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='FrozenProbeHook', interval=6, probes={{_base_.demo_probes}})]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=max_epochs,
                                                              max_keep_ckpts=1))
