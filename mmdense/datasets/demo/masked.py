"""The demo split with DetCon's Felzenszwalb masks, both written on first use."""
import os.path as osp

from mmengine.logging import print_log

from mmdense.registry import DATASETS
from ..felzenszwalb_masks import FH_MIN_SIZE, FH_SCALE, FH_SIGMA, generate_masks
from .dataset import DemoUnlabeledDataset


@DATASETS.register_module()
class DemoMaskedDataset(DemoUnlabeledDataset):
    """:class:`DemoUnlabeledDataset` whose images get their masks in ``unlabeled/masks/``.

    After the split is generated (or found), the missing masks of the listed images are
    written by :func:`~mmdense.datasets.felzenszwalb_masks.generate_masks` (resumable and
    atomic, so concurrent ranks and reruns are safe); a second load writes nothing.

    Args:
        mask_scale: Felzenszwalb scale.
        mask_min_size: Felzenszwalb minimum segment size.
        mask_sigma: Felzenszwalb smoothing.
        **kwargs: :class:`DemoUnlabeledDataset` arguments.
    """

    def __init__(self, mask_scale: float = FH_SCALE, mask_min_size: int = FH_MIN_SIZE,
                 mask_sigma: float = FH_SIGMA, **kwargs) -> None:
        self.mask_args = dict(scale=mask_scale, min_size=mask_min_size, sigma=mask_sigma)
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        """Generate the split and its missing masks, then return the image list."""
        data_list = super().load_data_list()
        img_root = osp.join(self.demo_root, 'unlabeled')
        written = generate_masks(img_root, images=[d['img_path'] for d in data_list],
                                 **self.mask_args)
        if written:
            print_log(f'DemoMaskedDataset: wrote {written} Felzenszwalb masks to '
                      f'{osp.join(img_root, "masks")}', logger='current')
        return data_list
