"""The synthetic demo split as a dataset that writes itself on first use."""

from mmdense.registry import DATASETS
from ..unlabeled_image_dataset import UnlabeledImageDataset


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

        # Writes the split if missing, checks its stamp if not.
        generate_demo_data(self.demo_root, self.num_images, self.image_size, self.seed)
        return super().load_data_list()
