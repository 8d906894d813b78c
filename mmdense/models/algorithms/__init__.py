from .base import BaseSelfSupervisor
from .densecl import DenseCL
from .mocov2 import MoCoV2
from .pixcontrast import PixContrast
from .pixpro import PixPro

__all__ = ['BaseSelfSupervisor', 'MoCoV2', 'DenseCL', 'PixPro', 'PixContrast']
