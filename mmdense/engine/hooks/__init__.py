from .densecl_warmup_hook import DenseCLWarmupHook
from .frozen_probe_hook import FrozenProbeHook
from .momentum_schedule_hook import MomentumScheduleHook, cosine_momentum
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .precise_bn_hook import PreciseBNHook, update_bn_stats
from .rng_state_hook import RNGStateHook

__all__ = [
    'DenseCLWarmupHook', 'FrozenProbeHook', 'MomentumScheduleHook', 'cosine_momentum',
    'NonFiniteLossHook', 'NonFiniteLossError', 'PreciseBNHook', 'update_bn_stats', 'RNGStateHook'
]
