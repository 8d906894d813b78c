"""Extract the ResNet backbone of an mmdense pre-training checkpoint for transfer.

Usage::

    python tools/model_converters/extract_backbone.py IN OUT \
        [--encoder {backbone,momentum_backbone}] [--format {mmdet,torchvision,detectron2}]
        [--depth N]

The default encoder is ``backbone``, the online (query) encoder: it is what
DenseCL's and MoCo's released weights transfer. The logic lives in
:mod:`mmdense.transfer.backbone_extraction` so that tests exercise the same code.
"""
import os.path as osp
import sys

# Run from a checkout without installing the package.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.transfer.backbone_extraction import main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_cli(main))
