"""``python -m mmdense.utils.collect_env``: every version a bug report needs."""
import subprocess
import sys

from mmdense.utils.collect_env import collect_env


def test_collect_env_reports_the_stack_and_compiled_ops():
    info = collect_env()
    for key in ('Python', 'PyTorch', 'TorchVision', 'MMEngine', 'MMCV', 'MMDetection',
                'MMSegmentation', 'MMPretrain', 'setuptools', 'mmdense'):
        assert key in info, key
    assert info['MMCV'] == '2.1.0'
    assert info['MMCV ops compiled'] == 'yes'  # the set-up builds mmcv with its ops
    assert info['mmdense'].split(' ')[0] == __import__('mmdense').__version__
    assert '(' in info['mmdense'] and 'unknown' not in info['mmdense']  # a git checkout here


def test_collect_env_runs_as_a_module():
    out = subprocess.run([sys.executable, '-m', 'mmdense.utils.collect_env'], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    assert 'MMCV ops compiled: yes' in out and 'mmdense: ' in out
