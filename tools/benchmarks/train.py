"""Fine-tune a pre-trained backbone with an mmdet/mmseg/mmpretrain benchmark config.

Usage::

    python tools/benchmarks/train.py CONFIG PRETRAIN [--work-dir DIR] [--encoder E]
        [--cfg-options KEY=VALUE ...] [--launcher pytorch] [--scope {mmdet,mmseg,mmpretrain}]

PRETRAIN is a tools/train.py checkpoint (its backbone is extracted into the work dir)
or a backbone file. The logic lives in :mod:`mmdense.transfer.downstream_train`.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from torch.distributed.elastic.multiprocessing.errors import record  # noqa: E402

from mmdense.transfer.downstream_train import downstream_main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    # `record` puts a failing rank's error into the file torchrun's summary reads (without
    # it the summary shows `error_file: <N/A>`); user mistakes are one line (exit status 2).
    sys.exit(record(lambda: run_cli(downstream_main))())
