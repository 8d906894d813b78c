"""DAVIS 2017 semi-supervised video object segmentation by label propagation.

Usage::

    python tools/benchmarks/davis/label_propagation.py --davis-root data/davis/DAVIS \\
        --checkpoint CKPT --out DIR [--variant {vfs,crw}] [--short-side N] [--device cuda]
    python tools/benchmarks/davis/label_propagation.py --davis-root data/davis/DAVIS \\
        --predictions RESULTS_DIR

The first propagates with a frozen pre-trained ResNet (res4, output stride 8), writes the
results as indexed PNGs and scores them; the second scores any method's results. The
logic lives in :mod:`mmdense.evaluation.davis_benchmark`; docs/evaluation.md has the
protocol.
"""
import os.path as osp
import sys

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from mmdense.evaluation.davis_benchmark import main  # noqa: E402
from mmdense.utils.cli import run_cli  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_cli(main))
