"""Plot the loss and probe curves of pre-training work dirs into one PNG.

Usage::

    python tools/analysis/plot_training_curves.py --run DenseCL=work_dirs/densecl \
        --run "MoCo v2=work_dirs/mocov2" --out curves.png

The logic lives in :mod:`mmdense.analysis.training_curves`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.analysis.training_curves import plot_training_curves  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', action='append', required=True, metavar='LABEL=WORK_DIR',
                        help='a run to draw (repeat)')
    parser.add_argument('--out', required=True, help='output PNG')
    args = parser.parse_args(argv)
    runs = dict(item.split('=', 1) for item in args.run)
    keys = plot_training_curves(runs, args.out)
    print(f'{args.out}: {", ".join(keys)}')


if __name__ == '__main__':
    main()
