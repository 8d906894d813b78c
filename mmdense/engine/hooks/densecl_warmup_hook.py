"""Dense-loss warm-up of DenseCL: the dense term is off for the first iterations."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdense.registry import HOOKS


@HOOKS.register_module()
class DenseCLWarmupHook(Hook):
    """Hold the model's ``loss_lambda`` at 0 before ``start_iters``, then restore it.

    The weight is derived from ``runner.iter`` at every iteration, so a resumed run
    gets exactly the weight the uninterrupted run had.

    Args:
        start_iters: First iteration with the dense loss on (1000 in DenseCL).
        loss_lambda: Weight from ``start_iters`` on; None keeps the model's
            configured ``loss_lambda``.
    """

    def __init__(self, start_iters: int = 1000, loss_lambda: Optional[float] = None) -> None:
        if start_iters < 0:
            raise ValueError(f'DenseCLWarmupHook start_iters must be >= 0, got {start_iters}.')
        self.start_iters = start_iters
        self.loss_lambda = loss_lambda

    @staticmethod
    def _unwrap(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        model = self._unwrap(runner)
        if not hasattr(model, 'loss_lambda'):
            raise TypeError(f'DenseCLWarmupHook needs a model with `loss_lambda` (e.g. DenseCL), '
                            f'got {type(model).__name__}; remove the hook from custom_hooks.')
        if self.loss_lambda is None:
            self.loss_lambda = model.loss_lambda

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = self._unwrap(runner)
        model.loss_lambda = self.loss_lambda if runner.iter >= self.start_iters else 0.0
