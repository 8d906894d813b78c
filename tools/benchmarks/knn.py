"""Weighted k-NN classification (k=20, T=0.07) on frozen pooled features of a pre-trained
backbone, with the datasets and test pipeline of an mmpretrain linear-probe config.

Usage::

    python tools/benchmarks/knn.py CONFIG PRETRAIN [--work-dir DIR] [--k 20]
        [--temperature 0.07] [--encoder E] [--batch-size N] [--cfg-options KEY=VALUE ...]

The logic lives in :mod:`mmdense.evaluation.knn`.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.evaluation.knn import main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_cli(main))
