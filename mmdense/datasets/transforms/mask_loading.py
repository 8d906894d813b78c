"""Load the offline unsupervised mask (DetCon) of each image next to the image."""
from typing import Optional

from mmcv.transforms import BaseTransform

from mmdense.registry import TRANSFORMS
from ..felzenszwalb_masks import check_mask_shape, mask_path_for, read_mask


@TRANSFORMS.register_module()
class LoadFelzenszwalbMask(BaseTransform):
    """Read ``seg_mask``, the segment ids of the image, from its mask PNG.

    The mask of ``<img_root>/<rel>.<ext>`` is ``<mask_root>/<rel>.png`` (see
    :mod:`mmdense.datasets.felzenszwalb_masks`). Put it after ``LoadImageFromFile``
    (full or reduced decode: the size check uses ``ori_shape``, which both set);
    ``RandomResizedCropWithBox`` and ``RandomFlipWithBox`` then carry the mask with
    the view (nearest neighbour), ``MultiView`` makes it per view and
    ``PackSelfSupInputs`` packs it as ``seg_masks``.

    Required keys: ``img_path``, ``ori_shape``. Added keys: ``seg_mask``, int32 ``(H, W)``.

    Args:
        img_root: Root of the image paths (``data_root``, e.g. ``data/imagenet/``).
        mask_root: Root of the masks; ``<img_root>/masks`` when None.

    Raises:
        MissingMaskError: The mask file is missing, unreadable or of another size than
            the image (the message names both files).
    """

    def __init__(self, img_root: str, mask_root: Optional[str] = None) -> None:
        super().__init__()
        self.img_root = img_root
        self.mask_root = mask_root

    def transform(self, results: dict) -> dict:
        """Add ``seg_mask`` to ``results``."""
        img_path = results['img_path']
        path = mask_path_for(img_path, self.img_root, self.mask_root)
        ids = read_mask(path, img_path)
        check_mask_shape(ids, results['ori_shape'], path, img_path)
        results['seg_mask'] = ids
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(img_root={self.img_root!r}, mask_root={self.mask_root!r})'
