"""Precise BatchNorm statistics before each evaluation, as detectron2's ``TEST.PRECISE_BN``.

The detection protocols MoCo, DenseCL and PixPro report (their detectron2 configs) turn on
``TEST.PRECISE_BN`` with detectron2's default ``NUM_ITER=200``: before each evaluation, and
after the last iteration, detectron2's ``PreciseBN`` hook runs 200 training iterations
without gradients and replaces every BN layer's running mean and variance with the
average of the per-batch means and variances of those iterations (the estimate of
Wu & Johnson, "Rethinking Batch in BatchNorm", Sec. 3). Training-time EMA statistics lag
behind weights that keep changing; the averaged ones describe the final weights.

Why not mmpretrain's ``PreciseBNHook``: it runs the model in ``tensor`` mode, so the C4
detectors' res5 head (a BN network applied to RoIs) would see test-time proposals instead
of the sampled training RoIs detectron2 feeds it; it counts samples, not iterations; and it
runs on a fixed interval rather than before each evaluation. This hook runs mmdet/mmseg
models in ``loss`` mode, exactly as a training step does (no gradients), counts iterations,
triggers on the iteration (or epoch) after which the loop validates or stops, and has a
higher priority than ``CheckpointHook`` so the checkpoint written at that point holds the
precise statistics, as detectron2's hook order does. Under several processes each BN's
averages are all-reduced (mean over ranks); with SyncBN every rank already sees the global
batch, and the reduction leaves the values unchanged.
"""
import copy
import itertools
from typing import Iterable, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmdense.registry import HOOKS

__all__ = ['PreciseBNHook', 'update_bn_stats', 'training_batch_norms']


def training_batch_norms(model: nn.Module) -> List[_BatchNorm]:
    """BN/SyncBN layers that train (frozen ones, in eval mode, keep their statistics)."""
    return [m for m in model.modules()
            if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]


@torch.no_grad()
def update_bn_stats(model: nn.Module, batches: Iterable, num_iters: int,
                    forward=None) -> int:
    """Set each training BN's running statistics to the mean of ``num_iters`` batches' ones.

    Args:
        model: The (unwrapped) model, in train mode.
        batches: Data batches as the train data loader yields them.
        num_iters: Batches to use (fewer if ``batches`` ends first).
        forward: ``forward(model, batch)`` running one training forward; default: the
            data preprocessor then ``model(**data, mode='loss')``.

    Returns:
        int: Batches used.
    """
    if forward is None:
        def forward(model, batch):
            data = model.data_preprocessor(batch, True)
            model(**data, mode='loss')
    layers = training_batch_norms(model)
    if not layers:
        return 0
    momenta = [bn.momentum for bn in layers]
    means = [torch.zeros_like(bn.running_mean) for bn in layers]
    variances = [torch.zeros_like(bn.running_var) for bn in layers]
    used = 0
    try:
        # momentum=1: after a forward, running_mean/var hold that batch's mean and unbiased
        # variance; their sums over the batches are divided by the count below.
        for bn in layers:
            bn.momentum = 1.0
        for batch in itertools.islice(batches, num_iters):
            forward(model, batch)
            used += 1
            for i, bn in enumerate(layers):
                means[i] += bn.running_mean
                variances[i] += bn.running_var
    finally:
        for bn, momentum in zip(layers, momenta):
            bn.momentum = momentum
    if used == 0:
        raise ValueError('precise BN: the training data loader yielded no batch')
    world_size = get_world_size()
    for bn, mean, var in zip(layers, means, variances):
        mean /= used
        var /= used
        if world_size > 1:
            all_reduce(mean, op='mean')
            all_reduce(var, op='mean')
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
    return used


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Re-estimate BN statistics on training batches before each evaluation and at the end.

    Args:
        num_iters: Training iterations whose batch statistics are averaged (detectron2's
            ``TEST.PRECISE_BN.NUM_ITER``, 200).
    """
    # Above CheckpointHook (VERY_LOW) and the logger: the checkpoint saved after the same
    # iteration holds the precise statistics.
    priority = 'ABOVE_NORMAL'

    def __init__(self, num_iters: int = 200) -> None:
        if num_iters < 1:
            raise ValueError(f'num_iters must be >= 1, got {num_iters}')
        self.num_iters = num_iters
        self._loader = None
        self._iterator = None

    def _batches(self, runner) -> Iterable:
        """Batches from a data loader of the hook's own, built from ``train_dataloader``.

        Not the training loop's loader: a second iterator over mmengine's
        ``InfiniteSampler`` (or mmdet's batch samplers over it) shares its index generator,
        and closing it ends the training loop's stream too (measured: the loop stopped with
        ``StopIteration``). detectron2's hook builds its own loader for the same reason. The
        iterator is kept between runs (each evaluation sees the next batches); an epoch
        loader restarts when it ends.
        """
        if self._loader is None:
            cfg = runner.cfg.get('train_dataloader')
            if cfg is None:
                raise RuntimeError('PreciseBNHook builds its own loader from the config\'s '
                                   'train_dataloader; build the Runner with Runner.from_cfg '
                                   '(or pass cfg=...).')
            self._loader = runner.build_dataloader(copy.deepcopy(cfg), seed=runner.seed)
            self._iterator = iter(self._loader)
        while True:
            try:
                yield next(self._iterator)
            except StopIteration:
                self._iterator = iter(self._loader)
                yield next(self._iterator)

    @staticmethod
    def _evaluates_or_ends(loop, done: int, total: int) -> bool:
        """Whether the loop validates after ``done`` iterations/epochs, or stops."""
        if done == total:
            return True
        if getattr(loop.runner, '_val_loop', None) is None:
            return False
        return done >= loop.val_begin and done % loop.val_interval == 0

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop) and self._evaluates_or_ends(
                loop, runner.iter + 1, loop.max_iters):
            self._run(runner)

    def after_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop) and self._evaluates_or_ends(
                loop, runner.epoch + 1, loop.max_epochs):
            self._run(runner)

    def _run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        layers = len(training_batch_norms(model))
        print_log(f'Precise BN: averaging the statistics of {layers} BN layers over '
                  f'{self.num_iters} training iterations', logger='current')
        used = update_bn_stats(model, self._batches(runner), self.num_iters)
        print_log(f'Precise BN: done ({used} iterations)', logger='current')
