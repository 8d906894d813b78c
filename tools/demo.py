"""One-command demo: pre-train DenseCL and MoCo v2 on synthetic scenes, fine-tune FCN-R18.

Usage::

    python tools/demo.py [--scale default|quick|SCALE.py] [--quick] [--work-dir work_dirs/demo]
        [--data-root data/demo] [--seed N] [--runs N] [--threads N]

``make demo`` runs it. The logic lives in :mod:`mmdense.demo`, its scales in
``configs/demo/`` (docs/demo.md).
"""
import os.path as osp
import sys

# Run from a checkout without installing the package.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmdense.demo import main  # noqa: E402

if __name__ == '__main__':
    main()
