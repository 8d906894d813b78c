from .base import BaseMomentumSelfSupervisor, BaseSelfSupervisor
from .densecl import DenseCL
from .detcon import DetCon
from .mocov2 import MoCoV2
from .pixcontrast import PixContrast
from .pixpro import PixPro
from .slotcon import SlotCon
from .vicregl import VICRegL

__all__ = [
    'BaseSelfSupervisor', 'BaseMomentumSelfSupervisor', 'MoCoV2', 'DenseCL', 'PixPro',
    'PixContrast', 'DetCon', 'VICRegL', 'SlotCon'
]
