"""End-to-end runs of tools/train.py on the DenseCL demo config, shrunk to a few iterations.

4 generated images, batch 2: one epoch is 2 iterations on one process and 1 on two.
"""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdense.apis import main
from mmdense.utils import allow_runner_checkpoint_globals, runner_checkpoint_safe_globals

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py'


def tiny_options(data_root: Path, experiment_name: str, max_epochs: int = 2) -> list:
    """``--cfg-options`` that shrink the demo config to a seconds-long deterministic run."""
    return [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.num_images=4',
        'train_dataloader.dataset.image_size=64',
        'train_dataloader.batch_size=2',
        'model.queue_len=2',  # queue_len <= images - global batch
        f'train_cfg.max_epochs={max_epochs}',  # the cosine follows it
        # Dense loss on from iteration 2: the resumed half trains with both losses.
        'custom_hooks.0.start_iters=2',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
        'randomness.seed=0',
        'randomness.deterministic=True',
        # Runner names its logger and message hub after the experiment and the second,
        # the visualizer after its config; distinct names keep runs in one process from
        # sharing them (and writing into each other's work dirs).
        f'experiment_name={experiment_name}',
        f'visualizer.name={experiment_name}',
    ]


_FRESH_LOAD = """
import json, sys, torch
unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(sys.argv[1])
try:
    torch.load(sys.argv[1])
    error = ''
except Exception as exc:
    error = str(exc)
print(json.dumps([unsafe, error]))
"""


def _log_text(work_dir: Path) -> str:
    logs = sorted(work_dir.glob('*/*.log'))
    assert logs, f'no log under {work_dir}'
    return logs[-1].read_text()


def _allowed_names() -> set:
    names = set()
    for entry in runner_checkpoint_safe_globals():
        if isinstance(entry, tuple):
            names.add(entry[1])
        else:
            names.add(f'{entry.__module__}.{entry.__qualname__}')
    return names


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return tmp_path_factory.mktemp('demo_data')


@pytest.fixture(scope='module')
def straight_run(tmp_path_factory, demo_root):
    """Train 2 epochs (4 iterations) in one go, checkpointing after each epoch."""
    work_dir = tmp_path_factory.mktemp('straight')
    runner = main([str(CONFIG), '--work-dir', str(work_dir), *tiny_options(demo_root, 'straight')])
    assert (runner.epoch, runner.iter) == (2, 4)
    state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    return work_dir, state


def test_checkpoint_loads_with_weights_only(straight_run):
    work_dir, final_state = straight_run
    ckpt_path = work_dir / 'epoch_2.pth'
    assert (work_dir / 'epoch_1.pth').is_file() and ckpt_path.is_file()

    # In a fresh interpreter (no allow-list yet), list the file's globals torch does not
    # allow by default, and show that torch's default load refuses the file.
    fresh = subprocess.run([sys.executable, '-c', _FRESH_LOAD, str(ckpt_path)],
                           capture_output=True, text=True, timeout=120)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    unsafe, error = json.loads(fresh.stdout.strip().splitlines()[-1])
    assert 'HistoryBuffer' in error
    # Every one of them is on the allow-list, which therefore suffices.
    assert unsafe and set(unsafe) <= _allowed_names()

    allow_runner_checkpoint_globals()
    ckpt = torch.load(ckpt_path)  # weights_only=True is torch's default
    assert {'meta', 'state_dict', 'message_hub', 'optimizer', 'param_schedulers'} <= set(ckpt)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (2, 4)
    assert len(ckpt['message_hub']['log_scalars']['train/loss'].data[0]) == 4
    assert set(ckpt['state_dict']) == set(final_state)
    for key, value in final_state.items():
        assert torch.equal(ckpt['state_dict'][key], value), key


def test_sigkill_then_auto_resume_reproduces_straight_run(straight_run, demo_root, tmp_path):
    """Epoch 1, SIGKILL of the training process, ``--resume``, epoch 2 == 2 epochs straight."""
    work_dir, final_state = straight_run
    killed_dir = tmp_path / 'killed'
    config = tmp_path / 'kill_after_epoch_1.py'
    config.write_text(
        f'_base_ = {str(CONFIG)!r}\n'
        "custom_imports = dict(imports=['reliability_fault_hooks'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='DenseCLWarmupHook', start_iters=8), "
        "dict(type='KillAfterEpochHook', epoch=1)]\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), str(REPO / 'tests' / 'test_reliability'), os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'train.py'), str(config),
                           '--work-dir', str(killed_dir), *tiny_options(demo_root, 'killed')],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (killed_dir / 'epoch_1.pth').is_file() and not (killed_dir / 'epoch_2.pth').exists()
    allow_runner_checkpoint_globals()
    halfway = torch.load(killed_dir / 'epoch_1.pth')
    assert {'python', 'numpy', 'torch'} <= set(halfway['rng_state'])
    # The killed run's first half equals the straight run's (same seed, same threads).
    straight_half = torch.load(work_dir / 'epoch_1.pth')['state_dict']
    assert all(torch.equal(straight_half[k], v) for k, v in halfway['state_dict'].items())

    # `--resume` without a path picks the newest complete checkpoint of the work dir.
    runner = main([str(CONFIG), '--work-dir', str(killed_dir), '--resume',
                   *tiny_options(demo_root, 'resumed')])
    assert (runner.epoch, runner.iter) == (2, 4)
    assert 'resumed epoch: 1, iter: 2' in _log_text(killed_dir)

    state = runner.model.state_dict()
    assert set(state) == set(final_state)
    assert any('queue' in k for k in state)
    # The second half really trained (weights, queues and their pointers moved) ...
    assert any(not torch.equal(halfway['state_dict'][k], state[k]) for k in state)
    # ... and reproduced the uninterrupted run exactly.
    mismatched = [k for k in state if not torch.equal(state[k], final_state[k])]
    assert not mismatched, f'{len(mismatched)} tensors differ, e.g. {mismatched[:5]}'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_dist_train_two_cpu_processes(demo_root, tmp_path):
    env = dict(os.environ, PORT=str(_free_port()), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    cmd = ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(CONFIG), '2', '--work-dir',
           str(tmp_path), *tiny_options(tmp_path / 'data', 'dist'),
           # 8 images: two processes of batch 2 need a queue of at least 4 keys, and the
           # queue-length rule allows at most 8 - 4.
           'train_dataloader.dataset.num_images=8', 'model.queue_len=4']
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    allow_runner_checkpoint_globals()
    ckpt = torch.load(tmp_path / 'epoch_2.pth')
    # Two ranks split the 8 images: two iterations per epoch instead of four.
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (2, 4)
    log = _log_text(tmp_path)
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert "backend='gloo'" in ckpt['meta']['cfg']


def test_tensorboard_flag_writes_event_files(demo_root, tmp_path):
    work_dir = tmp_path / 'tb'
    main([str(CONFIG), '--work-dir', str(work_dir), '--tensorboard',
          *tiny_options(demo_root, 'tensorboard', max_epochs=1)])
    events = list(work_dir.glob('*/vis_data/events.out.tfevents.*'))
    assert events and events[0].stat().st_size > 0
    assert list(work_dir.glob('*/vis_data/scalars.json'))  # the local backend is kept
