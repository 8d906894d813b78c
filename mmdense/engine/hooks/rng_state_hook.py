"""Save the random generators' states in checkpoints and restore them on resume."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop

from mmdense.registry import HOOKS

__all__ = ['RNGStateHook']


def _photometric_augment(runner):
    """The model's device photometric augmentation (``_device-aug`` configs), or None."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    return getattr(getattr(model, 'data_preprocessor', None), 'photometric', None)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Put python/numpy/torch (and CUDA) generator states into each checkpoint.

    MMEngine's resume restores weights, optimizer, schedulers and counters but
    re-seeds the generators from ``randomness.seed``, so a resumed run draws
    different dataloader worker seeds (with ``seed_worker_from_torch_seed``) and
    different in-process augmentations than the uninterrupted run.

    When the state is put back matters: an epoch-based loop creates the epoch's
    dataloader iterator (drawing worker seeds) after ``before_train_epoch``, so it is
    restored there; an iteration-based loop first replays the consumed batches
    (MMEngine skips them by reading them), so it is restored at the first
    ``before_train_iter``, after the replay.

    The data preprocessor's photometric augmentation (device-aug configs) draws from its own
    generator; its state (seed and batch count, the same on every rank) is saved and
    restored with the others, so device-augmented runs resume exactly too.

    Checkpoints are written by rank 0 only, so its states are saved and restored on
    every rank. Under MMEngine's default ``diff_rank_seed=False`` all ranks' main
    process generators are equal anyway; with ``diff_rank_seed=True`` the other
    ranks resume from rank 0's states (not bit-exact).
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record the generator states into ``checkpoint['rng_state']``."""
        state = dict(python=random.getstate(), numpy=np.random.get_state(),
                     torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        augment = _photometric_augment(runner)
        if augment is not None:
            state['photometric'] = augment.state_dict()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the saved states until the loop reaches the point to restore them."""
        self._pending = checkpoint.get('rng_state')
        if self._pending is None:
            print_log('The checkpoint holds no random generator states (it was written '
                      'without RNGStateHook): the resumed run is not bit-identical.',
                      logger='current', level=30)

    def _restore(self, runner) -> None:
        state, self._pending = self._pending, None
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
        augment = _photometric_augment(runner)
        if augment is not None and 'photometric' in state:
            augment.load_state_dict(state['photometric'])
        elif augment is not None:
            print_log('The checkpoint holds no photometric augmentation state (written by a '
                      'run without device augmentation): its parameters restart from step 0.',
                      logger='current', level=30)

    def before_train_epoch(self, runner) -> None:
        """Restore before an epoch-based loop builds the epoch's iterator."""
        if self._pending is not None and not isinstance(runner.train_loop, IterBasedTrainLoop):
            self._restore(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Restore after an iteration-based loop replayed the consumed batches."""
        if self._pending is not None:
            self._restore(runner)
