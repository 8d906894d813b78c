# The VOC 2012 test-submission settings of fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512_
# voc12test.py on the labelled demo data, for the linear-probe demo model: the demo VOC2012
# has ImageSets/Segmentation/test.txt (its val images), read without annotations.
_base_ = './linear_r18-d8_1xb4-20it_demo-voc12aug-64x64.py'

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 64), keep_ratio=True),
    dict(type='PackSegInputs')
]
test_dataloader = dict(
    dataset=dict(
        ann_file='ImageSets/Segmentation/test.txt',
        data_prefix=dict(_delete_=True, img_path='JPEGImages'),
        pipeline=test_pipeline))
test_evaluator = dict(
    type='IoUMetric',
    iou_metrics=['mIoU'],
    format_only=True,
    output_dir='work_dirs/linear_r18-d8_1xb4-20it_demo-voc12aug-64x64_voc12test/pred')
