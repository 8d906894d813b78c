"""A dataset of images without labels, listed by a text file or found by a folder scan."""
import logging
from collections.abc import Callable, Sequence

from mmengine.dataset import BaseDataset
from mmengine.fileio import exists, get_text, isdir, join_path, list_dir_or_file
from mmengine.logging import print_log

from mmdense.registry import DATASETS
from .transforms.loading import BadImageError

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def _is_image(path: str) -> bool:
    """Whether ``path`` has an image extension (case-insensitive) and no hidden part."""
    # Hidden folders hold half-written trees (see mmdense.utils.atomic_publish) or tool caches.
    if any(part.startswith('.') for part in path.split('/')):
        return False
    return path.lower().endswith(IMG_EXTENSIONS)


@DATASETS.register_module()
class UnlabeledImageDataset(BaseDataset):
    """Images for self-supervised pre-training; any labels on disk are ignored.

    The image list comes from one of two sources:

    - ``ann_file`` given: a text file with one image path per line, relative to
      ``data_prefix['img_path']``. A trailing integer on a line (the class index
      of ImageNet's ``meta/train.txt``) is dropped; blank lines are skipped.
    - ``ann_file=''``: the image folder is scanned recursively (ImageNet-style
      class sub-folders or a flat folder) for files ending in
      :data:`IMG_EXTENSIONS`, case-insensitively, and sorted so every rank and
      every run sees the same order.

    Each item of ``data_list`` is ``dict(img_path=...)``.

    Args:
        data_root: Root that relative ``ann_file`` and ``data_prefix`` are joined to.
        ann_file: Image list file, or ``''`` to scan the image folder.
        data_prefix: ``dict(img_path=...)``, the folder image paths are relative to.
        pipeline: Transforms (config dicts or callables) applied to each item.
        backend_args: MMEngine file-backend arguments for reading the list and
            scanning the folder (local disk when None).
        skip_bad_images: When a sample's image is bad (missing, empty, truncated,
            undecodable: :class:`BadImageError` from ``LoadImageFromFile``), log a
            warning naming the file and the running count of skipped images, and
            return another random image instead (MMEngine's refetch, at most
            ``max_refetch`` tries). False (default): raise the error.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments
            (``indices``, ``serialize_data``, ``lazy_init``, ``max_refetch``...).
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: dict | None = None,
                 pipeline: Sequence[dict | Callable] = (),
                 backend_args: dict | None = None,
                 skip_bad_images: bool = False,
                 **kwargs) -> None:
        self.backend_args = backend_args
        self.skip_bad_images = skip_bad_images
        # Per process: each dataloader worker holds its own copy of the dataset.
        self.num_skipped_images = 0
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=dict(img_path='') if data_prefix is None else data_prefix,
            pipeline=list(pipeline),
            **kwargs)

    @property
    def img_prefix(self) -> str:
        """The folder image paths are relative to (after joining ``data_root``)."""
        return self.data_prefix.get('img_path', '')

    def prepare_data(self, idx: int):
        """Run the pipeline on item ``idx``; None asks MMEngine for another item.

        Args:
            idx: Index into ``data_list``.

        Returns:
            The pipeline output, or None for a bad image when ``skip_bad_images``.
        """
        try:
            return super().prepare_data(idx)
        except BadImageError as err:
            if not self.skip_bad_images:
                raise
            self.num_skipped_images += 1
            print_log(f'Skipped bad image "{err.path}" ({err.reason}); '
                      f'{self.num_skipped_images} bad image(s) skipped so far by this '
                      'data process.', logger='current', level=logging.WARNING)
            return None

    def load_data_list(self) -> list[dict]:
        """Build ``data_list`` from the list file or the folder scan.

        Returns:
            list[dict]: One ``dict(img_path=...)`` per image.
        """
        relative_paths = self._read_ann_file() if self.ann_file else self._scan_folder()
        return [dict(img_path=join_path(self.img_prefix, path)) for path in relative_paths]

    def _read_ann_file(self) -> list[str]:
        """Read relative image paths from ``self.ann_file``.

        Returns:
            list[str]: Paths in file order.

        Raises:
            FileNotFoundError: The list file does not exist.
            ValueError: The list file names no image.
        """
        self._check_ann_file_exists()
        paths = []
        for line in get_text(self.ann_file, backend_args=self.backend_args).splitlines():
            line = line.strip()
            if not line:
                continue
            # rsplit keeps paths with spaces whole; only a final integer token is a label.
            parts = line.rsplit(maxsplit=1)
            if len(parts) == 2 and parts[1].lstrip('-').isdigit():
                line = parts[0]
            paths.append(line)
        if not paths:
            raise ValueError(f'The image list "{self.ann_file}" is empty. Write one image path '
                             'per line into it, or set ann_file="" to scan the image folder.')
        return paths

    def _check_ann_file_exists(self) -> None:
        if not exists(self.ann_file, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'Annotation file "{self.ann_file}" does not exist. Check data_root and '
                'ann_file (relative paths are joined to data_root), or set ann_file="" '
                f'to scan the image folder "{self.img_prefix}" instead.')

    def _scan_folder(self) -> list[str]:
        """List images under ``self.img_prefix`` recursively, sorted.

        Returns:
            list[str]: Paths relative to the image folder, with ``/`` separators.

        Raises:
            FileNotFoundError: The image folder does not exist.
            ValueError: The folder holds no image file.
        """
        folder = self.img_prefix
        if not folder or not isdir(folder, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'Image folder "{folder}" does not exist. Check data_root and '
                'data_prefix["img_path"] (relative paths are joined to data_root), or '
                'pass ann_file with a list of image paths.')
        paths = sorted(
            path for path in list_dir_or_file(
                folder, list_dir=False, recursive=True, backend_args=self.backend_args)
            if _is_image(path))
        if not paths:
            raise ValueError(f'No image files ({", ".join(IMG_EXTENSIONS)}, any case) found '
                             f'under "{folder}". Put images there (flat or in class '
                             'sub-folders) or pass ann_file with a list of image paths.')
        return paths
