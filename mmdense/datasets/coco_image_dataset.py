"""COCO images, without their annotations, for scene-centric pre-training."""
from mmengine.fileio import load

from mmdense.registry import DATASETS
from .unlabeled_image_dataset import UnlabeledImageDataset


@DATASETS.register_module()
class COCOImageDataset(UnlabeledImageDataset):
    """The images of a COCO split, e.g. the 118k of train2017 that DenseCL uses.

    With ``ann_file`` (e.g. ``annotations/instances_train2017.json``, or the
    much smaller ``image_info_*.json``), the image list is ``images[].file_name``
    in file order, so images without any object annotation are kept too; with
    ``ann_file=''`` the image folder is scanned like
    :class:`UnlabeledImageDataset` does.

    Args:
        data_root: Root that relative ``ann_file`` and ``data_prefix`` are joined to.
        ann_file: COCO-format json, or ``''`` to scan the image folder.
        data_prefix: ``dict(img_path='train2017/')`` style image folder.
        **kwargs: Other :class:`UnlabeledImageDataset` arguments.
    """

    def _read_ann_file(self) -> list[str]:
        """Read ``images[].file_name`` from the COCO json.

        Returns:
            list[str]: File names relative to the image folder, in json order.

        Raises:
            FileNotFoundError: The json does not exist.
            ValueError: The json has no ``images`` list or it is empty.
        """
        self._check_ann_file_exists()
        coco = load(self.ann_file, file_format='json', backend_args=self.backend_args)
        images = coco.get('images') if isinstance(coco, dict) else None
        if not images:
            raise ValueError(f'"{self.ann_file}" has no non-empty "images" list, so it is not '
                             'a COCO annotation file; pass a COCO json such as '
                             'annotations/instances_train2017.json, or ann_file="" to scan '
                             'the image folder.')
        return [image['file_name'] for image in images]
