"""Pre-train with an mmdense config.

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]] [--amp]
        [--seed N] [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]

The logic lives in :mod:`mmdense.apis.train` so that tests exercise the same code.
"""
import os.path as osp
import sys

# Run from a checkout without installing the package.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmdense.apis import main  # noqa: E402

if __name__ == '__main__':
    main()
