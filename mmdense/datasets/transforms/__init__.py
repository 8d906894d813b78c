from .color_jitter import ColorJitter
from .formatting import PackSelfSupInputs
from .loading import (BadImageError, JPEGHeader, LazyJPEG, LoadImageFromFile, decode_image,
                      find_image_problem, materialize_image, read_jpeg_header)
from .mask_loading import LoadFelzenszwalbMask
from .multi_view import MultiView
from .overlapping_crops import PlannedResizedCropWithBox, SampleOverlappingCrops
from .photometric import GaussianBlur, RandomGrayscale, Solarize
from .random_flip import RandomFlipWithBox
from .random_resized_crop import RandomResizedCropWithBox, compose_view_box, dct_scale

__all__ = [
    'MultiView', 'RandomResizedCropWithBox', 'RandomFlipWithBox', 'ColorJitter',
    'RandomGrayscale', 'GaussianBlur', 'Solarize', 'PackSelfSupInputs', 'compose_view_box',
    'LoadImageFromFile', 'BadImageError', 'decode_image', 'find_image_problem', 'LazyJPEG',
    'JPEGHeader', 'read_jpeg_header', 'materialize_image', 'dct_scale', 'LoadFelzenszwalbMask',
    'SampleOverlappingCrops', 'PlannedResizedCropWithBox'
]
