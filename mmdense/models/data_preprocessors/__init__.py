from .photometric_augment import BatchedPhotometricAugment
from .photometric_ops import (BatchedColorJitter, BatchedGaussianBlur, BatchedRandomGrayscale,
                              BatchedSolarize)
from .selfsup_data_preprocessor import SelfSupDataPreprocessor

__all__ = [
    'SelfSupDataPreprocessor', 'BatchedPhotometricAugment', 'BatchedColorJitter',
    'BatchedRandomGrayscale', 'BatchedGaussianBlur', 'BatchedSolarize'
]
