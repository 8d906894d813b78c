"""The environment a bug report needs: ``python -m mmdense.utils.collect_env``.

The OpenMMLab habit (``mmdet.utils.collect_env``): MMEngine's :func:`collect_env` gives Python,
CUDA, GCC, PyTorch and its build, TorchVision, OpenCV and MMEngine; this adds mmcv and whether
its compiled ops load, mmdet, mmseg, mmpretrain, and mmdense with its git hash.
"""
import os.path as osp
import subprocess
from collections import OrderedDict

from mmengine.utils.dl_utils import collect_env as collect_base_env

__all__ = ['collect_env']


def _git_hash(path: str) -> str:
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=path, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 'unknown (git not available)'
    if out.returncode != 0:
        return 'unknown (not a git checkout)'
    dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=path,
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return out.stdout.strip() + ('+local changes' if dirty else '')


def _version(module_name: str) -> str:
    try:
        module = __import__(module_name)
    except Exception as e:  # an import error is itself what the report must show
        return f'not importable ({type(e).__name__}: {e})'
    return getattr(module, '__version__', 'unknown')


def _mmcv_ops() -> str:
    try:
        from mmcv.ops import nms  # noqa: F401  (loads the compiled extension mmcv._ext)
    except Exception as e:
        return f'no ({type(e).__name__}: {e})'
    return 'yes'


def collect_env() -> OrderedDict:
    """Versions of everything mmdense runs on, in report order.

    Returns:
        OrderedDict: Name -> value strings (plus MMEngine's GPU and compiler entries).
    """
    import mmdense

    info = OrderedDict(collect_base_env())
    info['MMCV'] = _version('mmcv')
    info['MMCV ops compiled'] = _mmcv_ops()
    info['MMDetection'] = _version('mmdet')
    info['MMSegmentation'] = _version('mmseg')
    info['MMPretrain'] = _version('mmpretrain')
    info['setuptools'] = _version('setuptools')
    root = osp.dirname(osp.dirname(osp.abspath(mmdense.__file__)))
    info['mmdense'] = f'{mmdense.__version__} ({_git_hash(root)})'
    return info


def main() -> None:
    for name, value in collect_env().items():
        print(f'{name}: {value}')


if __name__ == '__main__':
    main()
