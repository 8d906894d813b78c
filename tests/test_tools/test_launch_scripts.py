"""Command lines built by tools/dist_train.sh and tools/slurm_train.sh.

Stand-ins for ``python`` and ``srun`` record what the scripts would run, so the
multi-node and Slurm paths are checked without a cluster.
"""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Prints each argument on its own line, then the PYTHONPATH it was given.
RECORDER = ('#!/usr/bin/env bash\n'
            'for a in "$@"; do echo "ARG $a"; done\n'
            'echo "PYTHONPATH $PYTHONPATH"\n')


def _recorder(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RECORDER)
    path.chmod(0o755)
    return path


def _run(script: str, args: list, env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ('PYTHON', 'MMDENSE_VENV', 'NNODES', 'NODE_RANK', 'PORT', 'MASTER_ADDR',
                         'MASTER_PORT', 'RDZV_TIMEOUT',
                         'GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS')}
    return subprocess.run(['bash', str(REPO / 'tools' / script), *args], env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def _recorded(proc: subprocess.CompletedProcess):
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    args = [line[4:] for line in lines if line.startswith('ARG ')]
    pythonpath = next(line[11:] for line in lines if line.startswith('PYTHONPATH '))
    return args, pythonpath


def test_dist_train_multi_node_command(tmp_path):
    python = _recorder(tmp_path / 'python')
    proc = _run('dist_train.sh', ['configs/x.py', '8', '--resume', '--cfg-options', 'a=1'],
                dict(PYTHON=str(python), NNODES='2', NODE_RANK='1', MASTER_ADDR='10.0.0.1',
                     PORT='29999'))
    args, pythonpath = _recorded(proc)
    assert args == [
        '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1', '--master_addr=10.0.0.1',
        '--master_port=29999', '--rdzv_conf=timeout=600', '--nproc_per_node=8',
        str(REPO / 'tools' / 'train.py'),
        'configs/x.py', '--launcher', 'pytorch', '--resume', '--cfg-options', 'a=1'
    ]
    assert pythonpath.split(':')[0] == str(REPO)
    assert 'node 1 of 2: waiting up to 600 s for the other nodes at 10.0.0.1:29999' in proc.stderr


def test_dist_train_takes_torchs_master_port_and_a_rendezvous_timeout(tmp_path):
    python = _recorder(tmp_path / 'python')
    proc = _run('dist_train.sh', ['c.py', '2'],
                dict(PYTHON=str(python), MASTER_PORT='29111', PORT='29999', RDZV_TIMEOUT='30'))
    args, _ = _recorded(proc)
    assert '--master_port=29111' in args and '--rdzv_conf=timeout=30' in args


def test_dist_train_says_what_failed(tmp_path):
    failing = tmp_path / 'python'
    failing.write_text('#!/usr/bin/env bash\necho "error: train_cfg.max_iters: ..." >&2\nexit 2\n')
    failing.chmod(0o755)
    proc = _run('dist_train.sh', ['c.py', '2'], dict(PYTHON=str(failing)))
    assert proc.returncode == 2
    assert 'train.py failed with exit status 2 on node 0' in proc.stderr
    assert "its 'error:' line above says which key or file and the fix" in proc.stderr
    failing.write_text('#!/usr/bin/env bash\nexit 1\n')
    proc = _run('dist_train.sh', ['c.py', '2'], dict(PYTHON=str(failing), NNODES='2'))
    assert proc.returncode == 1 and 'If the nodes never met' in proc.stderr


def test_dist_train_defaults_and_venv_python(tmp_path):
    venv = tmp_path / 'venv'
    _recorder(venv / 'bin' / 'python')
    args, _ = _recorded(_run('dist_train.sh', ['c.py', '2'], dict(MMDENSE_VENV=str(venv))))
    assert args[2:8] == ['--nnodes=1', '--node_rank=0', '--master_addr=127.0.0.1',
                         '--master_port=29500', '--rdzv_conf=timeout=600', '--nproc_per_node=2']


def test_dist_train_usage_error():
    proc = _run('dist_train.sh', ['only_config.py'], {})
    assert proc.returncode == 2 and 'usage' in proc.stderr


def test_slurm_train_command(tmp_path):
    bin_dir = tmp_path / 'bin'
    _recorder(bin_dir / 'srun')
    env = dict(PATH=f'{bin_dir}:{os.environ["PATH"]}', PYTHON='/opt/py/bin/python', GPUS='16',
               SRUN_ARGS='--time=1:00:00 --qos=high')
    args, pythonpath = _recorded(
        _run('slurm_train.sh', ['gpu', 'dcl', 'configs/x.py', 'work_dirs/x', '--seed', '1'], env))
    assert args == [
        '-p', 'gpu', '--job-name=dcl', '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
        '--cpus-per-task=5', '--kill-on-bad-exit=1', '--time=1:00:00', '--qos=high',
        '/opt/py/bin/python', '-u', str(REPO / 'tools' / 'train.py'), 'configs/x.py',
        '--work-dir=work_dirs/x', '--launcher', 'slurm', '--seed', '1'
    ]
    assert pythonpath.split(':')[0] == str(REPO)

    # Fewer GPUs than a node has: one node with that many tasks.
    args, _ = _recorded(_run('slurm_train.sh', ['gpu', 'dcl', 'c.py', 'w'],
                             dict(env, GPUS='2', SRUN_ARGS='')))
    assert '--gres=gpu:2' in args and '--ntasks-per-node=2' in args and '--ntasks=2' in args
