from .densecl_neck import DenseCLNeck
from .mocov2_neck import MoCoV2Neck

__all__ = ['MoCoV2Neck', 'DenseCLNeck']
from .mlp2d_neck import MLP2dNeck
from .pixel_propagation import PixelPropagationModule

__all__ += ['MLP2dNeck', 'PixelPropagationModule']
