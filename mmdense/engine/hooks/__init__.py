from .densecl_warmup_hook import DenseCLWarmupHook

__all__ = ['DenseCLWarmupHook']
from .momentum_schedule_hook import MomentumScheduleHook, cosine_momentum

__all__ += ['MomentumScheduleHook', 'cosine_momentum']
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook  # noqa: E402
from .rng_state_hook import RNGStateHook  # noqa: E402

__all__ += ['NonFiniteLossHook', 'NonFiniteLossError', 'RNGStateHook']
