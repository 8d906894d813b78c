# COCO train2017 images (118k, annotations unused) with SlotCon's augmentation
# (imagenet_slotcon.py): the authors' main, scene-centric pre-training set.
# Layout: data/coco/train2017/*.jpg and data/coco/annotations/instances_train2017.json.
_base_ = './imagenet_slotcon.py'

dataset_type = 'COCOImageDataset'
data_root = 'data/coco/'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img_path='train2017/')))
