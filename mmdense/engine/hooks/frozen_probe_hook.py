"""Frozen-feature probes during pre-training: is the dense representation improving?

A pre-training loss says little about the features (PixPro's goes negative, DenseCL's dense
term rises after its warm-up, any contrastive loss rises on a tiny dataset). This hook runs
cheap probes of the current backbone (k-NN on a small labelled folder, dense correspondence
between views, label propagation on a few clips: ``mmdense.PROBES``) every ``interval``
epochs (or iterations), and once before training as the baseline of the initialisation. Each
probe works on a frozen copy of the backbone, so training state (modes, gradients, BN
statistics) is untouched. Results go to the log (``probe/<name>``), to every visualisation
backend (``scalars.json``; TensorBoard with ``--tensorboard``) and to the message hub. Only
rank 0 probes (the probes use no collectives).
"""
import time
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdense.registry import HOOKS, PROBES

__all__ = ['FrozenProbeHook']


@HOOKS.register_module()
class FrozenProbeHook(Hook):
    """Run ``probes`` on the online backbone before training and every ``interval``.

    Args:
        probes: Probe configs (``dict(type='KNNProbe', data_root=...)``, ...).
        interval: Epochs (``by_epoch``) or iterations between probes; the last one is
            always probed.
        by_epoch: Count ``interval`` in epochs.
        before_train: Also probe the initial weights (skipped on resume).
        encoder: Attribute of the model holding the backbone (``momentum_backbone`` to
            follow the key encoder).
    """
    priority = 'LOW'

    def __init__(self, probes: Sequence[dict], interval: int = 1, by_epoch: bool = True,
                 before_train: bool = True, encoder: str = 'backbone') -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.probe_cfgs = list(probes)
        self.interval, self.by_epoch = interval, by_epoch
        self.probe_before_train, self.encoder = before_train, encoder
        self._probes: Optional[List] = None
        self.history: List[Dict[str, float]] = []

    def _run(self, runner, step: int, epoch: int) -> None:
        if not is_main_process():
            return
        if self._probes is None:
            self._probes = [PROBES.build(cfg) for cfg in self.probe_cfgs]
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbone = getattr(model, self.encoder)
        results: Dict[str, float] = {}
        start = time.perf_counter()
        # Building the frozen copies initialises layers from torch's global generator: fork
        # it, so a run with probes trains exactly as the same run without them.
        with torch.random.fork_rng(devices=self._cuda_devices()):
            for probe in self._probes:
                results.update(probe(backbone))
        seconds = time.perf_counter() - start
        scalars = {f'probe/{key}': float(value) for key, value in results.items()}
        for key, value in scalars.items():
            runner.message_hub.update_scalar(key, value)
        runner.visualizer.add_scalars(dict(scalars, **{'probe/seconds': seconds}), step=step)
        text = ', '.join(f'{key[6:]}: {value:.2f}' for key, value in scalars.items())
        runner.logger.info(f'Probe (epoch {epoch}, iter {step}): {text} ({seconds:.1f} s)')
        self.history.append(dict(results, epoch=epoch, iter=step, seconds=seconds))

    @staticmethod
    def _cuda_devices() -> list:
        return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []

    def before_train(self, runner) -> None:
        if self.probe_before_train and runner.iter == 0:
            self._run(runner, 0, 0)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and (self.every_n_epochs(runner, self.interval)
                              or self.is_last_train_epoch(runner)):
            self._run(runner, runner.iter, runner.epoch + 1)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.by_epoch and (self.every_n_train_iters(runner, self.interval)
                                  or self.is_last_train_iter(runner)):
            self._run(runner, runner.iter + 1, runner.epoch)
