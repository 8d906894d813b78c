from .detcon_loss import DetConLoss, detcon_loss
from .infonce import InfoNCELoss, info_nce, info_nce_autograd
from .negative_cosine_loss import NegativeCosineLoss, negative_cosine_loss
from .pixcontrast_loss import PixContrastLoss, pixcontrast_loss
from .pixel_consistency_loss import PixelConsistencyLoss, pixel_consistency_loss
from .slotcon_contrastive_loss import SlotContrastiveLoss, slot_contrastive_loss, slot_presence
from .slotcon_group_loss import SlotConGroupLoss, slotcon_group_loss
from .vicreg_loss import VICRegLoss, vicreg_loss
from .vicregl_local_loss import VICRegLLocalLoss, vicregl_local_loss

__all__ = [
    'info_nce', 'info_nce_autograd', 'InfoNCELoss', 'negative_cosine_loss', 'NegativeCosineLoss',
    'pixel_consistency_loss', 'PixelConsistencyLoss', 'pixcontrast_loss', 'PixContrastLoss',
    'detcon_loss', 'DetConLoss', 'slot_contrastive_loss', 'slot_presence', 'SlotContrastiveLoss',
    'slotcon_group_loss', 'SlotConGroupLoss', 'vicreg_loss', 'VICRegLoss', 'vicregl_local_loss',
    'VICRegLLocalLoss'
]
