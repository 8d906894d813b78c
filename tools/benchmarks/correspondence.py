"""Label-free dense correspondence of a pre-trained backbone's frozen res4/res5 features:
each cell of one augmented view is matched to its most similar cell of another view of the
same image, correct when the two lie within one cell diagonal in the original image.

Usage::

    python tools/benchmarks/correspondence.py --checkpoint CKPT --images DIR
        [--encoder E] [--num-images 32] [--view-size 128] [--pairs-per-image 1] [--seed 0]
        [--device cpu] [--out results.json]

The logic lives in :mod:`mmdense.evaluation.correspondence`.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.evaluation.correspondence import main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_cli(main))
