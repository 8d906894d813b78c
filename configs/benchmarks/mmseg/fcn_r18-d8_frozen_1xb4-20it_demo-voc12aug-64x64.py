# CPU-sized check of the frozen-backbone FCN config (fcn_r50-d8_frozen_4xb4-20k_voc12aug-
# 512x512.py) on the labelled demo data: the frozen R18 and demo data of the linear-probe
# demo, with the benchmark's FCN head (two convs, input concat, dropout 0.1) at R18 widths.
_base_ = './linear_r18-d8_1xb4-20it_demo-voc12aug-64x64.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='FCNHead',
        in_channels=512,
        in_index=3,
        channels=64,
        num_convs=2,
        concat_input=True,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
