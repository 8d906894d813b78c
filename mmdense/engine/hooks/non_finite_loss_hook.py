"""Stop on a NaN/Inf loss and refuse to checkpoint non-finite weights."""
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict

from mmdense.registry import HOOKS

__all__ = ['NonFiniteLossHook', 'NonFiniteLossError']


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/Inf loss or non-finite weights."""


def _uses_loss_scaling(optim_wrapper) -> bool:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return any(isinstance(w, AmpOptimWrapper) for w in optim_wrapper.values())
    return isinstance(optim_wrapper, AmpOptimWrapper)


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Watch the losses for NaN/Inf without a host sync per iteration.

    After each iteration, for every output whose name contains ``loss``, the first
    iteration at which it was non-finite is folded into a device tensor (no
    ``.item()``). The tensors are read every ``interval`` iterations, at the end of
    training and before every checkpoint save. A non-finite loss then raises
    :class:`NonFiniteLossError` naming the losses and the first bad iteration.
    (MMEngine's ``RuntimeInfoHook`` already copies each loss to the host every
    iteration for logging, so this hook adds no sync of its own between reads.)

    With ``AmpOptimWrapper`` (fp16 with dynamic loss scaling), an overflow makes the
    gradient scaler skip that optimizer step and lower the scale, which is the
    intended recovery: non-finite losses are then counted and logged as a warning,
    not raised. In every mode, the weights in a checkpoint are checked before it is
    written, so a checkpoint never holds NaN/Inf weights.

    Args:
        interval: Iterations between reads of the device flags; None (the default)
            takes the ``LoggerHook``'s interval, whose logging already syncs then, or
            50 without a logger.
    """

    priority = 'ABOVE_NORMAL'  # before the checkpoint and logger hooks

    def __init__(self, interval: Optional[int] = None) -> None:
        if interval is not None and interval < 1:
            raise ValueError(f'NonFiniteLossHook interval must be >= 1, got {interval}')
        self.interval = interval
        self._first_bad: Dict[str, torch.Tensor] = {}
        self.num_nonfinite_windows = 0

    def before_train(self, runner) -> None:
        """Resolve ``interval=None`` to the logger's interval."""
        if self.interval is None:
            intervals = [h.interval for h in runner.hooks if type(h).__name__ == 'LoggerHook']
            self.interval = intervals[0] if intervals else 50

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Fold this iteration's finiteness into the device flags; read them sometimes."""
        for name, value in (outputs or {}).items():
            if 'loss' not in name or not isinstance(value, torch.Tensor):
                continue
            bad = ~torch.isfinite(value.detach()).all()
            first = self._first_bad.get(name)
            if first is None:
                first = torch.full((), -1, dtype=torch.long, device=value.device)
            self._first_bad[name] = torch.where(bad & (first < 0),
                                                torch.full_like(first, runner.iter), first)
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self.check_losses(runner)

    def check_losses(self, runner) -> None:
        """Read the flags (one host sync); raise or, under loss scaling, warn.

        Raises:
            NonFiniteLossError: A loss was NaN/Inf and no loss scaler handles it.
        """
        if not self._first_bad:
            return
        names = list(self._first_bad)
        firsts = torch.stack([self._first_bad[n] for n in names]).tolist()
        bad = {name: it for name, it in zip(names, firsts) if it >= 0}
        self._first_bad.clear()
        if not bad:
            return
        first_iter = min(bad.values()) + 1  # 1-based, as in the training log
        listed = ', '.join(sorted(bad))
        if _uses_loss_scaling(runner.optim_wrapper):
            self.num_nonfinite_windows += 1
            print_log(f'Non-finite {listed} from iteration {first_iter}: the AMP loss scaler '
                      'skips such steps and lowers the scale. Check windows with non-finite '
                      f'losses so far: {self.num_nonfinite_windows}.', logger='current',
                      level=30)
            return
        raise NonFiniteLossError(
            f'Non-finite loss ({listed}) at iteration {first_iter}; training stopped '
            'before writing these weights to a checkpoint. Lower the learning rate '
            '(optim_wrapper.optimizer.lr), add gradient clipping (optim_wrapper.clip_grad'
            '=dict(max_norm=...)), or resume from the last checkpoint.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to save when a loss went non-finite or a weight is NaN/Inf.

        Raises:
            NonFiniteLossError: Naming the first non-finite weights.
        """
        self.check_losses(runner)
        state = checkpoint.get('state_dict', {})
        keys = [k for k, v in state.items()
                if isinstance(v, torch.Tensor) and v.is_floating_point()]
        if not keys:
            return
        finite = torch.stack([torch.isfinite(state[k]).all() for k in keys]).tolist()
        bad = [k for k, ok in zip(keys, finite) if not ok]
        if bad:
            raise NonFiniteLossError(
                f'Refusing to save a checkpoint after iteration {runner.iter}: '
                f'{len(bad)} weight tensor(s) hold NaN/Inf, e.g. {bad[:3]}. The previous '
                'checkpoint is kept; resume from it with a lower learning rate or '
                'gradient clipping.')
