# mocov2_r50_8xb32-coslr-200e_in1k.py with the photometric augmentation on the training device
# (docs/benchmarks.md, "Photometric augmentation on the device").
_base_ = [
    '../_base_/models/mocov2_r50.py',
    '../_base_/datasets/imagenet_mocov2_device-aug.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
