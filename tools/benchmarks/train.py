"""Fine-tune a pre-trained backbone with an mmdet/mmseg benchmark config.

Usage::

    python tools/benchmarks/train.py CONFIG PRETRAIN [--work-dir DIR] [--encoder E]
        [--cfg-options KEY=VALUE ...] [--launcher pytorch] [--scope {mmdet,mmseg}]

PRETRAIN is a tools/train.py checkpoint (its backbone is extracted into the work dir)
or a backbone file. The logic lives in :mod:`mmdense.transfer.downstream_train`.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.transfer.downstream_train import downstream_main  # noqa: E402

if __name__ == '__main__':
    downstream_main()
