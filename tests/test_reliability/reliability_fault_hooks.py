"""Hooks that inject faults into training runs, for the reliability tests.

Imported by configs through ``custom_imports`` (the test puts this folder on
PYTHONPATH) or directly by tests.
"""
import os
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmdense.registry import HOOKS


@HOOKS.register_module(force=True)
class KillAfterEpochHook(Hook):
    """SIGKILL the training process once epoch ``epoch``'s checkpoint is written."""

    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW) in after_train_epoch

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module(force=True)
class FailOnRankHook(Hook):
    """Raise on one rank at one iteration, as a crashing data or model bug would."""

    def __init__(self, rank: int, iteration: int = 0) -> None:
        self.rank = rank
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if get_rank() == self.rank and runner.iter == self.iteration:
            raise RuntimeError(f'injected fault on rank {self.rank}')


@HOOKS.register_module(force=True)
class PoisonWeightsHook(Hook):
    """Fill one backbone weight with NaN before iteration ``iteration`` (0-based)."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter == self.iteration:
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            with torch.no_grad():
                next(model.backbone.parameters()).fill_(float('nan'))
