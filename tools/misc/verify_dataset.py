"""List every bad image file of a config's training dataset (exit status 1 if any).

Usage: python tools/misc/verify_dataset.py CONFIG [--cfg-options KEY=VALUE ...]
"""
import sys

from mmdense.utils.dataset_verification import verify_dataset_main

if __name__ == '__main__':
    sys.exit(verify_dataset_main())
