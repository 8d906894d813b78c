"""Convert released DenseCL / PixPro / MoCo v2 weights to a validated ResNet backbone.

Usage::

    python tools/model_converters/convert_released.py IN OUT \
        --source {densecl,pixpro,mmselfsup,mmpretrain,moco} \
        [--format {mmdet,torchvision,detectron2}] [--depth N] [--unsafe-load]

The logic lives in :mod:`mmdense.transfer.released_weights` so that tests exercise
the same code.
"""
import os.path as osp
import sys

# Run from a checkout without installing the package.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.transfer.released_weights import main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_cli(main))
