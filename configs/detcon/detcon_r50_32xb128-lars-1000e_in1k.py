# DetCon-B R50, 1000 epochs (the released ImageNet checkpoint's recipe, get_config(1000)):
# as the 100-epoch config, with 10 warm-up epochs (epochs // 100).
_base_ = './detcon_r50_32xb128-lars-100e_in1k.py'

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True, begin=10,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=1000)
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=3))
