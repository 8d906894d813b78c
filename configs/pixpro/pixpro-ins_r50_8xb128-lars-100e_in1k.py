# PixPro with the instance branch (paper Sec. 3.4/Table 5): a BYOL-style loss on pooled
# features (projector 2048-4096-256 + predictor 256-4096-256, momentum projector) added with
# weight 1 to the pixel loss. Everything else as pixpro_r50_8xb128-lars-100e_in1k.py.
_base_ = './pixpro_r50_8xb128-lars-100e_in1k.py'

model = dict(
    loss_instance_weight=1.0,
    instance_neck=dict(
        type='MLP2dNeck', in_channels=2048, hid_channels=4096, out_channels=256,
        norm_cfg=dict(type='SyncBN')),
    instance_predictor=dict(
        type='MLP2dNeck', in_channels=256, hid_channels=4096, out_channels=256,
        norm_cfg=dict(type='SyncBN')))
