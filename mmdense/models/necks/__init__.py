from .densecl_neck import DenseCLNeck
from .mocov2_neck import MoCoV2Neck

__all__ = ['MoCoV2Neck', 'DenseCLNeck']
