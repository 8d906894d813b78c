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

from torch.distributed.elastic.multiprocessing.errors import record  # noqa: E402

from mmdense.apis import main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    # Under torchrun, `record` writes a failing rank's traceback to the error file the
    # launcher reads, so its summary names the rank and the error that stopped the job. A
    # config or checkpoint mistake is printed in one line instead (exit status 2).
    sys.exit(record(lambda: run_cli(main))())
