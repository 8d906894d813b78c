"""Turn VOC 2012 test-split predictions into the PASCAL VOC evaluation server's upload.

Usage::

    python tools/benchmarks/mmseg/voc_submission.py PRED_DIR [--voc-root data/VOCdevkit/VOC2012]
        [--out-dir DIR] [--competition {comp6,comp5}] [--overwrite]

PRED_DIR holds the ``<image id>.png`` files that tools/benchmarks/test.py writes with a
``..._voc12test.py`` config. Writes ``DIR/results/VOC2012/Segmentation/comp6_test_cls/`` (indexed
PNGs, VOC colour map) and ``DIR/results.tar.gz``. The logic lives in
:mod:`mmdense.transfer.voc_submission`.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from mmdense.transfer.voc_submission import main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_cli(main))
