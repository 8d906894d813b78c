from .infonce import InfoNCELoss, info_nce, info_nce_autograd
from .negative_cosine_loss import NegativeCosineLoss, negative_cosine_loss
from .pixcontrast_loss import PixContrastLoss, pixcontrast_loss
from .pixel_consistency_loss import PixelConsistencyLoss, pixel_consistency_loss

__all__ = [
    'info_nce', 'info_nce_autograd', 'InfoNCELoss', 'negative_cosine_loss', 'NegativeCosineLoss',
    'pixel_consistency_loss', 'PixelConsistencyLoss', 'pixcontrast_loss', 'PixContrastLoss'
]
