# COCO train2017 images (118k, annotations unused), MoCo v2 augmentation: the
# scene-centric pre-training of DenseCL. Layout: data/coco/train2017/*.jpg and
# data/coco/annotations/instances_train2017.json. Pipeline and loader as ImageNet.
_base_ = './imagenet_mocov2.py'

dataset_type = 'COCOImageDataset'
data_root = 'data/coco/'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img_path='train2017/')))
