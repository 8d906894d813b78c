"""The synthetic demo split as a dataset that writes itself on first use."""
import os
import os.path as osp

from mmengine.logging import print_log

from mmdense.registry import DATASETS
from mmdense.utils import ConfigError
from mmdense.utils.atomic_publish import STAMP_FILE
from ..unlabeled_image_dataset import UnlabeledImageDataset


def _generated(path: str, depth: int = 3) -> bool:
    """Whether ``path`` holds only trees the demo generators wrote (each has a stamp file).

    Files (other than hidden ones) and trees deeper than ``depth`` without a stamp count as
    someone else's; the walk stops at the first such file, so a large dataset costs little.
    """
    if not osp.isdir(path):
        return False
    names = [n for n in os.listdir(path) if not n.startswith('.')]
    if osp.isfile(osp.join(path, STAMP_FILE)):
        return True
    if depth == 0:
        return not names
    return all(_generated(osp.join(path, n), depth - 1) for n in names)


@DATASETS.register_module()
class DemoUnlabeledDataset(UnlabeledImageDataset):
    """:class:`UnlabeledImageDataset` over ``data_root/unlabeled``, generated if missing.

    The images are written by :func:`~mmdense.datasets.demo.scenes.generate_demo_data`
    when the dataset first loads its list and ``data_root/unlabeled`` does not
    exist. An existing split is used only if it was generated with the same
    arguments by the same generator version (its ``.generator`` stamp); otherwise
    loading fails with an error that names the folder (delete it to regenerate).
    Use ``indices`` to train on part of a split.

    Args:
        data_root: Demo data root (the ``root`` of ``generate_demo_data``).
        num_images: Images to generate when the split is missing.
        image_size: Side length of generated images.
        seed: Seed of generated images.
        **kwargs: Other :class:`UnlabeledImageDataset` arguments; ``ann_file``
            and ``data_prefix`` default to the generated layout.
    """

    def __init__(self,
                 data_root: str = 'data/demo',
                 num_images: int = 64,
                 image_size: int = 96,
                 seed: int = 0,
                 ann_file: str = 'unlabeled/meta/train.txt',
                 data_prefix: dict | None = None,
                 **kwargs) -> None:
        self.demo_root = data_root
        self.num_images = num_images
        self.image_size = image_size
        self.seed = seed
        if data_prefix is None:
            data_prefix = dict(img_path='unlabeled/train/')
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=data_prefix,
                         **kwargs)

    def load_data_list(self) -> list[dict]:
        """Generate the split if missing, then read it.

        Returns:
            list[dict]: One ``dict(img_path=...)`` per image.
        """
        # Imported here, not at module level: the package must not import the scenes module
        # itself, or `python -m mmdense.datasets.demo.scenes` warns about a double import.
        from .scenes import generate_demo_data

        split = osp.join(self.demo_root, 'unlabeled')
        if not osp.isdir(split):
            self._refuse_foreign_root()
            print_log(f'DemoUnlabeledDataset: writing {self.num_images} generated demo images '
                      f'({self.image_size} px) to {split}', logger='current')
        # Writes the split if missing, checks its stamp if not.
        generate_demo_data(self.demo_root, self.num_images, self.image_size, self.seed)
        return super().load_data_list()

    def _refuse_foreign_root(self) -> None:
        """Do not write demo images into a folder that holds something else (your data)."""
        if not osp.isdir(self.demo_root):
            return
        foreign = sorted(name for name in os.listdir(self.demo_root)
                         if not name.startswith('.')
                         and not _generated(osp.join(self.demo_root, name)))
        if foreign:
            raise ConfigError(
                f'train_dataloader.dataset.data_root={self.demo_root!r} holds {foreign[:3]}, '
                'not demo data: DemoUnlabeledDataset would write generated demo images there. '
                "To train on your own images use type='UnlabeledImageDataset' with "
                '_delete_=True in train_dataloader.dataset (docs/custom_data.md); for the demo, '
                'point data_root at an empty or new folder.')
