# The demo's --long scale (configs/demo/long.py): ../default/mocov2_r18_demo-default.py for 40
# epochs (640 iterations) instead of 12, the probes every 10 epochs.
_base_ = '../default/mocov2_r18_demo-default.py'

max_epochs = 40
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='FrozenProbeHook', interval=10, probes={{_base_.demo_probes}})]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
