from .base import BaseMomentumSelfSupervisor, BaseSelfSupervisor
from .densecl import DenseCL
from .mocov2 import MoCoV2
from .pixcontrast import PixContrast
from .pixpro import PixPro

__all__ = [
    'BaseSelfSupervisor', 'BaseMomentumSelfSupervisor', 'MoCoV2', 'DenseCL', 'PixPro', 'PixContrast'
]
