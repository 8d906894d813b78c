from .densecl_neck import DenseCLNeck
from .detcon_mlp import DetConMLP
from .dino_projector2d import DINOProjector2d
from .mlp2d_neck import MLP2dNeck
from .mocov2_neck import MoCoV2Neck
from .pixel_propagation import PixelPropagationModule
from .semantic_grouping import SemanticGrouping
from .slot_predictor import SlotPredictor
from .vicreg_expander import VICRegExpander
from .vit_densecl_neck import ViTDenseCLNeck

__all__ = ['MoCoV2Neck', 'DenseCLNeck', 'MLP2dNeck', 'PixelPropagationModule',
           'DINOProjector2d', 'SemanticGrouping', 'SlotPredictor', 'DetConMLP', 'VICRegExpander',
           'ViTDenseCLNeck']
