# MoCo v2 for docs/training_curves.md: the MoCo v2 demo config on the 256 generated demo images,
# batch 16, 20 epochs (320 iterations), with the demo's probes. Same settings as
# densecl_r18_demo-curves.py, where each is explained.
_base_ = ['../../mocov2/mocov2_r18_demo.py', '../../_base_/probes/demo_probes.py']

max_epochs = 20
model = dict(queue_len=64, momentum=0.99)
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    dataset=dict(data_root='data/demo/default', num_images=256, image_size=96))
optim_wrapper = dict(optimizer=dict(lr=0.015))
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [{{_base_.probe_hook}}]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=max_epochs,
                                                              max_keep_ckpts=1))
