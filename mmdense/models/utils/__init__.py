from .distributed import batch_shuffle_ddp, batch_unshuffle_ddp, concat_all_gather
from .feature_queue import FeatureQueue
from .momentum import build_momentum_copy, momentum_update

__all__ = [
    'concat_all_gather', 'batch_shuffle_ddp', 'batch_unshuffle_ddp', 'FeatureQueue',
    'build_momentum_copy', 'momentum_update'
]
