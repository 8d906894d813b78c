from .coco_image_dataset import COCOImageDataset
from .demo import DemoUnlabeledDataset
from .transforms import *  # noqa: F401,F403
from .unlabeled_image_dataset import IMG_EXTENSIONS, UnlabeledImageDataset

__all__ = ['UnlabeledImageDataset', 'COCOImageDataset', 'DemoUnlabeledDataset', 'IMG_EXTENSIONS']
