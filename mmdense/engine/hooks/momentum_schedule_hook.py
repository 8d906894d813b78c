"""Cosine schedule of the EMA coefficient of momentum encoders (PixPro, BYOL)."""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdense.registry import HOOKS


def cosine_momentum(base_momentum: float, cur_iter: int, max_iters: int) -> float:
    """``1 - (1 - m0) * (cos(pi * k / K) + 1) / 2``: ``m0`` at ``k = 0``, 1 at ``k = K``."""
    return 1.0 - (1.0 - base_momentum) * (math.cos(math.pi * cur_iter / max_iters) + 1) / 2


@HOOKS.register_module()
class MomentumScheduleHook(Hook):
    """Set ``model.momentum`` before every training iteration from ``runner.iter``.

    The value depends only on the iteration index and ``runner.max_iters``, so
    a resumed run continues the schedule exactly. Iteration ``k`` (0-based)
    uses ``cosine_momentum(base_momentum, k, max_iters)``, the coefficient the
    PixPro reference applies at its ``k``-th update.

    Args:
        base_momentum: Starting coefficient; None reads the model's
            ``base_momentum`` attribute (its ``momentum`` argument, 0.99).
    """

    priority = 'NORMAL'

    def __init__(self, base_momentum: Optional[float] = None) -> None:
        if base_momentum is not None and not 0.0 <= base_momentum <= 1.0:
            raise ValueError(f'base_momentum must lie in [0, 1], got {base_momentum}')
        self.base_momentum = base_momentum

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'momentum'):
            raise AttributeError(f'MomentumScheduleHook needs a model with a `momentum` attribute; '
                                 f'{type(model).__name__} has none. Remove the hook from '
                                 'custom_hooks for this algorithm.')
        base = self.base_momentum
        if base is None:
            base = getattr(model, 'base_momentum', None)
            if base is None:
                raise AttributeError(f'{type(model).__name__} has no `base_momentum`; give '
                                     'MomentumScheduleHook(base_momentum=...) explicitly.')
        model.momentum = cosine_momentum(base, runner.iter, runner.max_iters)
