# coco_mocov2.py (COCO train2017 images, DenseCL's scene-centric pre-training) with the
# photometric augmentation on the training device, as imagenet_mocov2_device-aug.py.
_base_ = './imagenet_mocov2_device-aug.py'

dataset_type = 'COCOImageDataset'
data_root = 'data/coco/'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img_path='train2017/')))
