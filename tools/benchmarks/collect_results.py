"""Print a markdown table of the last evaluation of downstream work dirs.

Usage::

    python tools/benchmarks/collect_results.py WORK_DIR [WORK_DIR ...]

Detection runs give AP, AP50, AP75 (and mask AP), segmentation runs (fine-tunes and
frozen probes) mIoU and aAcc, linear classification top-1/top-5, the k-NN probe its top-1,
DAVIS label propagation J&F, J and F, all in percent.
The logic lives in :mod:`mmdense.transfer.benchmark_results`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.transfer.benchmark_results import results_table  # noqa: E402


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+',
                        help='benchmark work dirs (fine-tunes, probes, DAVIS --out)')
    table = results_table(parser.parse_args(argv).work_dirs)
    print(table)
    return table


if __name__ == '__main__':
    main()
