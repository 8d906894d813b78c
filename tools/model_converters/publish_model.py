"""Publish a training checkpoint: weights only, plain meta, sha256 in the file name.

Usage::

    python tools/model_converters/publish_model.py IN OUT_PREFIX [--date YYYYMMDD] \
        [--encoder {backbone,momentum_backbone}] [--no-backbone]

writes ``OUT_PREFIX_YYYYMMDD-<8 hex>.pth`` (``state_dict`` + ``meta``) and
``OUT_PREFIX_backbone_YYYYMMDD-<8 hex>.pth`` (mmdet/mmseg ResNet keys), both
loadable with ``torch.load(weights_only=True)``. The logic lives in
:mod:`mmdense.transfer.publish` so that tests exercise the same code.
"""
import os.path as osp
import sys

# Run from a checkout without installing the package.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.transfer.publish import main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_cli(main))
