from .densecl_neck import DenseCLNeck
from .mlp2d_neck import MLP2dNeck
from .mocov2_neck import MoCoV2Neck
from .pixel_propagation import PixelPropagationModule

__all__ = ['MoCoV2Neck', 'DenseCLNeck', 'MLP2dNeck', 'PixelPropagationModule']
