"""Test a fine-tuned model with an mmdet/mmseg benchmark config.

Usage::

    python tools/benchmarks/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--cfg-options KEY=VALUE ...] [--launcher pytorch] [--scope {mmdet,mmseg}]

CHECKPOINT is a checkpoint written by tools/benchmarks/train.py with CONFIG's model. With a
``format_only`` evaluator (the VOC 2012 test-server config) the predictions go to --out or
WORK_DIR/pred. Several processes: ``bash tools/torchrun.sh tools/benchmarks/test.py GPUS
CONFIG CHECKPOINT --launcher pytorch``. The logic lives in
:mod:`mmdense.transfer.downstream_test`.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from torch.distributed.elastic.multiprocessing.errors import record  # noqa: E402

from mmdense.transfer.downstream_test import downstream_test_main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    # `record`: a failing rank's error reaches torchrun's summary; user mistakes are one line.
    sys.exit(record(lambda: run_cli(downstream_test_main))())
