"""Scan a training dataset for bad image files before a long run."""
import argparse
import copy
from typing import List, Optional, Sequence, Tuple, Union

from mmengine import fileio
from mmengine.config import Config, DictAction

__all__ = ['verify_dataset', 'verify_dataset_main']


def verify_dataset(cfg: Union[Config, str],
                   dataloader_key: str = 'train_dataloader') -> List[Tuple[str, str]]:
    """Read and decode every image of a config's dataset; list the bad ones.

    The dataset is built without its pipeline, then each file goes through the same
    checks as ``LoadImageFromFile`` (present, non-empty, not truncated, decodable).

    Args:
        cfg: The config, or its path.
        dataloader_key: Which dataloader's dataset to scan.

    Returns:
        list[tuple[str, str]]: ``(path, reason)`` for every bad file, in dataset order.

    Raises:
        FileNotFoundError / ValueError: From the dataset itself, e.g. an empty
            image folder or a missing image list.
    """
    # Imported here: mmdense.datasets imports mmdense.utils at package load.
    from mmdense.datasets.transforms.loading import BadImageError, decode_image
    from mmdense.registry import DATASETS
    from mmdense.utils import register_all_modules

    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg)
    register_all_modules()
    dataset_cfg = copy.deepcopy(cfg[dataloader_key]['dataset'])
    dataset_cfg['pipeline'] = []
    dataset = DATASETS.build(dataset_cfg)
    backend_args = getattr(dataset, 'backend_args', None)
    bad = []
    for idx in range(len(dataset)):
        path = dataset.get_data_info(idx)['img_path']
        try:
            try:
                data = fileio.get(path, backend_args=backend_args)
            except FileNotFoundError as exc:
                raise BadImageError(path, 'file not found (listed in the image list but '
                                    'missing on disk)') from exc
            decode_image(data, path)
        except BadImageError as err:
            bad.append((path, err.reason))
    return bad


def verify_dataset_main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``tools/misc/verify_dataset.py``: print bad files; exit status 1 if any.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        int: 0 when every image is good, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description='List the bad image files of a '
                                     "config's training dataset.")
    parser.add_argument('config', help='config file')
    parser.add_argument('--dataloader', default='train_dataloader',
                        help='config key of the dataloader whose dataset to scan')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, as in tools/train.py')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    bad = verify_dataset(cfg, args.dataloader)
    for path, reason in bad:
        print(f'BAD {path}: {reason}')
    if bad:
        print(f'{len(bad)} bad image file(s). Replace or delete them (and their lines in '
              'the image list), or set skip_bad_images=True in the dataset config.')
        return 1
    print('All images are readable.')
    return 0
