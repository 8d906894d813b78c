"""The built-in demo data: synthetic scenes over natural photographs, unlabeled (ImageNet folder)
and labelled (COCO, VOC, ADE20K, Cityscapes layouts), and synthetic video clips in the DAVIS 2017
layout (``.davis``), generated on first use. Only the dataset class is imported here, so
``python -m mmdense.datasets.demo.scenes`` (or ``.labelled``, ``.davis``) runs its module once."""
from .dataset import DemoUnlabeledDataset
from .masked import DemoMaskedDataset  # noqa: F401

__all__ = ['DemoUnlabeledDataset']
