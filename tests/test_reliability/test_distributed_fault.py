"""One rank of a 2-process gloo run fails: both exit with that rank's error, no hang."""
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_failing_rank_stops_both_processes(tmp_path):
    config = tmp_path / 'fail_on_rank_1.py'
    config.write_text(
        f'_base_ = {str(CONFIG)!r}\n'
        "custom_imports = dict(imports=['reliability_fault_hooks'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='DenseCLWarmupHook', start_iters=8), "
        "dict(type='FailOnRankHook', rank=1, iteration=0)]\n"
        # Longer than the test allows: passing proves rank 0 was stopped by the failure
        # (torchrun tears the group down), not by the collective timeout.
        "env_cfg = dict(dist_cfg=dict(timeout=600))\n")
    env = dict(os.environ, PORT=str(_free_port()), PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(REPO / 'tests' / 'test_reliability'),
                                           os.environ.get('PYTHONPATH', '')]))
    cmd = ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(config), '2', '--work-dir',
           str(tmp_path / 'run'), '--cfg-options',
           f'train_dataloader.dataset.data_root={tmp_path / "demo"}',
           'train_dataloader.dataset.num_images=8', 'train_dataloader.dataset.image_size=64',
           'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
           'model.queue_len=4']  # queue_len <= images - global batch (2 x 2)
    # A hang would exceed this limit (and the 600 s collective timeout) and fail the test.
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    # torchrun's summary names the failing rank and carries its exception.
    assert 'RuntimeError: injected fault on rank 1' in output, output[-3000:]
    assert 'rank      : 1' in output or 'rank: 1' in output, output[-3000:]
    assert not (tmp_path / 'run' / 'epoch_1.pth').exists()
