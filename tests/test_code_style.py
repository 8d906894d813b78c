"""The style the code follows, checked in every `make test` (settings in setup.cfg): flake8
(pyflakes and pycodestyle, lines up to 100) and isort's import order. Seconds, not minutes."""
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PATHS = ['mmdense', 'tools', 'tests', 'configs', 'setup.py']


def _run(*args):
    return subprocess.run([sys.executable, '-m', *args, *PATHS], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_flake8_is_clean():
    proc = _run('flake8')
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_imports_are_sorted():
    proc = _run('isort', '--check-only', '--diff')
    assert proc.returncode == 0, proc.stdout + proc.stderr
