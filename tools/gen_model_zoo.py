"""Generate model_zoo.md from model-index.yml and configs/*/metafile.yml.

Usage::

    python tools/gen_model_zoo.py            # rewrite model_zoo.md
    python tools/gen_model_zoo.py --check    # fail if model_zoo.md is stale (CI)
    python tools/gen_model_zoo.py --weights-root work_dirs/publish --require-weights

It fails (exit 1) when a metafile points to a missing config or README, or a
published weight's sha256 does not start with the hash in its name. The logic
lives in :mod:`mmdense.apis.model_zoo` so that tests exercise the same code.
"""
import os.path as osp
import sys

# Run from a checkout without installing the package.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmdense.apis.model_zoo import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
