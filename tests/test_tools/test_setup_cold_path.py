"""The fresh-machine set-up, rehearsed: CI reuses a cached mmcv wheel and venv, so without this
check a set-up that breaks on a new machine would stay green.

``MMDENSE_SETUP_CHECK=1`` runs ``tools/setup/setup_env.sh`` step by step in a throwaway venv
with an empty wheel cache, resolving every install (pip ``--dry-run``), applying the build-tool
versions each step would leave behind, and running mmcv's metadata step, the one that broke
when ``torch`` upgraded setuptools past 80. About a minute; the full cold build is 15.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'setup', 'setup_env.sh')


def rehearse(tmp_path, root: str = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, MMDENSE_SETUP_CHECK='1', MMDENSE_VENV=str(tmp_path / 'venv'),
               MMDENSE_CACHE=str(tmp_path / 'empty-cache'),
               # The interpreter this venv was made from, as `make setup` would use.
               PYTHON=getattr(sys, '_base_executable', sys.executable))
    return subprocess.run(['bash', osp.join(root, 'tools', 'setup', 'setup_env.sh')], env=env,
                          cwd=root, capture_output=True, text=True, timeout=900)


def test_fresh_machine_reaches_the_mmcv_compile(tmp_path):
    proc = rehearse(tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert '[setup] check: mmcv 2.1.0 metadata step passed' in proc.stdout
    assert 'every step resolved' in proc.stdout
    # Nothing of the set-up touched the cache or the project's venv.
    assert not (tmp_path / 'empty-cache').exists()
    venv_python = tmp_path / 'venv' / 'bin' / 'python'
    version = subprocess.run(
        [str(venv_python), '-c', 'import setuptools; print(setuptools.__version__)'],
        capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.split('.')[0]) < 81, version


def test_rehearsal_fails_when_the_setuptools_pin_is_only_a_requirement(tmp_path):
    """The fault that shipped: setuptools<81 as a requirement, not a constraint, lets the torch
    install upgrade it, and mmcv's setup.py then misses pkg_resources."""
    copy = tmp_path / 'repo'
    for name in ('requirements', 'tools/setup'):
        shutil.copytree(osp.join(ROOT, name), copy / name)
    shutil.copy(osp.join(ROOT, 'setup.py'), copy / 'setup.py')
    constraints = copy / 'requirements' / 'constraints.txt'
    lines = constraints.read_text().splitlines(keepends=True)
    constraints.write_text(''.join(line for line in lines if not line.startswith('setuptools')))
    proc = rehearse(tmp_path, root=str(copy))
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-4000:]
    assert 'would install setuptools==8' in proc.stdout  # what torch's resolution picks
    assert 'pkg_resources' in log
    assert 'metadata step passed' not in proc.stdout


def test_constraints_pin_the_build_tools_for_every_step():
    """Each pin a step relies on lives in the constraints file every pip call obeys."""
    with open(osp.join(ROOT, 'requirements', 'constraints.txt')) as f:
        pins = {line.split('#')[0].strip() for line in f if line.split('#')[0].strip()}
    assert any(p.startswith('setuptools') and '<81' in p for p in pins)
    assert {'torch==2.14.1', 'torchvision==0.29.1', 'mmcv==2.1.0'} <= pins
    with open(SCRIPT) as f:
        script = f.read()
    assert 'export PIP_CONSTRAINT="$ROOT/requirements/constraints.txt"' in script
