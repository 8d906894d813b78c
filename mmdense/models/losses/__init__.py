from .infonce import info_nce
from .pixcontrast_loss import PixContrastLoss, pixcontrast_loss
from .pixel_consistency_loss import PixelConsistencyLoss, pixel_consistency_loss
from .pixel_positive_mask import cell_distance, pixel_positive_mask

__all__ = [
    'info_nce', 'cell_distance', 'pixel_positive_mask', 'pixel_consistency_loss', 'PixelConsistencyLoss',
    'pixcontrast_loss', 'PixContrastLoss'
]
