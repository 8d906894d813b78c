# PixPro R50, 400 epochs (the authors' pixpro_base_r50_400ep.sh; the weights behind the
# paper's headline transfer numbers). Same as the 100-epoch config but for the schedule.
_base_ = [
    '../_base_/models/pixpro_r50.py',
    '../_base_/datasets/imagenet_byol.py',
    '../_base_/schedules/lars_coslr-400e.py',
    '../_base_/default_runtime.py',
]

custom_hooks = [dict(type='MomentumScheduleHook')]
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
