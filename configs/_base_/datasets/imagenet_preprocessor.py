# ImageNet normalisation on the device (RGB order, 0-255 scale), the one place every
# pre-training dataset config takes it from; mmdet/mmseg/mmpretrain use the same values.
# channels_last: batches and weights in the channels-last memory format (faster convolutions
# and BatchNorms on CPU and GPU; docs/benchmarks.md). The demo configs turn it off.
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
    channels_last=True)
