from .coco_image_dataset import COCOImageDataset
from .demo_dataset import DemoUnlabeledDataset
from .labelled_demo_data import generate_labelled_demo_data
from .transforms import *  # noqa: F401,F403
from .unlabeled_image_dataset import IMG_EXTENSIONS, UnlabeledImageDataset

__all__ = [
    'UnlabeledImageDataset', 'COCOImageDataset', 'DemoUnlabeledDataset', 'IMG_EXTENSIONS',
    'generate_labelled_demo_data'
]
