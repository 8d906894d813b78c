"""Non-finite losses stop training; NaN weights never reach a checkpoint."""
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
import reliability_fault_hooks  # noqa: F401  (registers PoisonWeightsHook)
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmdense.apis import build_train_cfg, parse_train_args, train
from mmdense.engine.hooks import NonFiniteLossError, NonFiniteLossHook

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py')


def _runner(optim_wrapper, it=0):
    return SimpleNamespace(optim_wrapper=optim_wrapper, iter=it, train_loop=None)


def _feed(hook, runner, losses):
    hook.after_train_iter(runner, 0, None, {k: torch.tensor(v) for k, v in losses.items()})


def test_flags_stay_on_device_until_interval():
    hook = NonFiniteLossHook(interval=4)
    runner = _runner(mock.Mock(spec=OptimWrapper))
    with mock.patch.object(NonFiniteLossHook, 'is_last_train_iter', return_value=False):
        for it, dense in enumerate([0.5, float('nan'), float('inf')]):
            runner.iter = it
            _feed(hook, runner, dict(loss_single=1.0, loss_dense=dense, acc=float('nan')))
        # Not read yet: the first bad iteration (0-based 1) sits in a tensor.
        assert hook._first_bad['loss_dense'].item() == 1 and 'acc' not in hook._first_bad
        assert hook._first_bad['loss_single'].item() == -1
        runner.iter = 3
        with pytest.raises(NonFiniteLossError) as info:
            _feed(hook, runner, dict(loss_single=1.0, loss_dense=1.0))
    assert 'Non-finite loss (loss_dense) at iteration 2' in str(info.value)


def test_amp_loss_scaling_skips_instead_of_stopping():
    hook = NonFiniteLossHook(interval=1)
    runner = _runner(mock.Mock(spec=AmpOptimWrapper))
    _feed(hook, runner, dict(loss=float('inf')))  # warns, does not raise
    assert hook.num_nonfinite_windows == 1


def test_checkpoint_with_nan_weights_is_refused():
    hook = NonFiniteLossHook()
    runner = _runner(mock.Mock(spec=OptimWrapper), it=7)
    good = {'a.weight': torch.ones(2), 'queue_ptr': torch.zeros(1, dtype=torch.long)}
    hook.before_save_checkpoint(runner, dict(state_dict=good))
    bad = dict(good, **{'b.weight': torch.tensor([1.0, float('nan')])})
    with pytest.raises(NonFiniteLossError, match=r"after iteration 7.*\['b.weight'\]"):
        hook.before_save_checkpoint(runner, dict(state_dict=bad))


def test_training_stops_at_nan_loss_without_writing_a_checkpoint(tmp_path):
    cfg = build_train_cfg(parse_train_args([
        CONFIG, '--work-dir', str(tmp_path / 'run'), '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path / "demo"}',
        'train_dataloader.dataset.num_images=4', 'train_dataloader.dataset.image_size=64',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0', 'model.queue_len=2',
        'train_cfg.max_epochs=2', 'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1', 'custom_hooks.0.start_iters=0',
        'experiment_name=nan_run', 'visualizer.name=nan_run'
    ]))
    # NaN weights before the third iteration (0-based 2): its losses are NaN.
    cfg.custom_hooks.append(dict(type='PoisonWeightsHook', iteration=2))
    with pytest.raises(NonFiniteLossError) as info:
        train(cfg)
    message = str(info.value)
    assert 'at iteration 3' in message
    for name in ('loss', 'loss_single', 'loss_dense'):
        assert name in message.split('(')[1].split(')')[0].split(', ')
    assert (tmp_path / 'run' / 'epoch_1.pth').is_file()
    assert not (tmp_path / 'run' / 'epoch_2.pth').exists()
