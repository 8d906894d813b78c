# PixContrast for docs/training_curves.md: the PixContrast demo config on the 256 generated
# demo images (96 px crops, batch 16, 20 epochs, 320 iterations), with the demo's
# frozen-feature probes. The learning rate follows DenseCL's demo: 8x
# PixContrast's linear rule (LARS 1.0 per 256 images), for the same reason (320 iterations
# barely move the weights at the linear-rule rate).
_base_ = ['../../pixcontrast/pixcontrast_r18_demo.py', '../../_base_/probes/demo_probes.py']

max_epochs = 20
train_dataloader = dict(
    batch_size=16,
    num_workers=0,  # the demo shares two cores with the main process
    dataset=dict(data_root='data/demo/default', num_images=256, image_size=96, indices=None))
optim_wrapper = dict(optimizer=dict(lr=8 * 1.0 * 16 / 256))
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='MomentumScheduleHook'), {{_base_.probe_hook}}]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=max_epochs,
                                                              max_keep_ckpts=1))
