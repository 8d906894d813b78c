# PASCAL VOC 2012 test-server predictions of the VOC12-aug FCN transfer config: the same
# model and test-time resize (short side 512), run over ImageSets/Segmentation/test.txt of
# VOC2012test.tar, which has images and no annotations. mmseg's IoUMetric with
# format_only=True computes nothing and writes one PNG per image into output_dir: the
# predicted class index 0-20 as an 8-bit greyscale PNG named <image id>.png, at the image's
# own size. tools/benchmarks/mmseg/voc_submission.py turns those into the server's layout.
#
#   python tools/benchmarks/test.py THIS_CONFIG WORK_DIR/iter_20000.pth --work-dir W
#
# (tools/benchmarks/test.py writes the PNGs to W/pred, or to --out DIR; output_dir below is
# the default work dir's, for mmseg's own tools/test.py.)
_base_ = './fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512.py'

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    # No LoadAnnotations: the test split has no ground truth.
    dict(type='PackSegInputs')
]
test_dataloader = dict(
    dataset=dict(
        ann_file='ImageSets/Segmentation/test.txt',
        # Images only; without seg_map_path mmseg's dataset looks for no label files.
        data_prefix=dict(_delete_=True, img_path='JPEGImages'),
        pipeline=test_pipeline))
test_evaluator = dict(
    type='IoUMetric',
    iou_metrics=['mIoU'],
    format_only=True,
    output_dir='work_dirs/fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512_voc12test/pred')
