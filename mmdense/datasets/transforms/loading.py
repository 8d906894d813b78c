"""Image loading that names the bad file and the fix instead of failing obscurely.

mmcv's ``LoadImageFromFile`` fails on a corrupt file with ``AssertionError: failed to
load image`` and, worse, decodes a truncated JPEG or PNG without any error (OpenCV
fills the missing rows with grey), so a damaged dataset trains silently on garbage.
The subclass below is registered under the same name in mmdense's transform registry
(as mmdet re-registers mmcv's ``Resize``), so every mmdense config gets the checks
with unchanged arguments; ``mmcv.LoadImageFromFile`` still names the original.
"""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmengine import fileio

from mmdense.registry import TRANSFORMS

__all__ = ['BadImageError', 'find_image_problem', 'LoadImageFromFile']

_JPEG_START = b'\xff\xd8'
_JPEG_END = b'\xff\xd9'
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Writers may pad a file after its end marker; look this far back for it.
_TRAILER_WINDOW = 64


class BadImageError(ValueError):
    """An image file that cannot be used, with the file and the reason.

    Args:
        path: The image file.
        reason: What is wrong with it, e.g. ``'zero-byte file'``.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f'Bad image "{path}": {reason}. Replace or delete the file (and its line in the '
            'image list), or set skip_bad_images=True in the dataset config to train on '
            'another image instead; `python tools/misc/verify_dataset.py CONFIG` lists '
            'every bad file.')


def find_image_problem(data: bytes) -> Optional[str]:
    """Cheap structural checks on an encoded image, without decoding it.

    A JPEG must end with its end-of-image marker and a PNG with its ``IEND`` chunk;
    a file cut short by an interrupted copy lacks them. Other formats are left to
    the decoder.

    Args:
        data: The file's bytes.

    Returns:
        str | None: The problem, or None when none was found.
    """
    if len(data) == 0:
        return 'zero-byte file'
    tail = data[-_TRAILER_WINDOW:]
    if data.startswith(_JPEG_START) and _JPEG_END not in tail:
        return 'truncated JPEG (no end-of-image marker)'
    if data.startswith(_PNG_SIGNATURE) and b'IEND' not in tail:
        return 'truncated PNG (no IEND chunk)'
    return None


def decode_image(data: bytes, path: str, flag: str = 'color',
                 backend: str = 'cv2') -> np.ndarray:
    """Check and decode an encoded image.

    With ``flag='color'`` OpenCV returns 3-channel uint8 BGR for every image it can
    read: grayscale is replicated, an alpha channel dropped, 16-bit samples scaled
    to 8 bits and CMYK JPEGs converted.

    Args:
        data: The file's bytes.
        path: The file, for the error message.
        flag: mmcv ``imfrombytes`` colour flag.
        backend: mmcv decoding backend.

    Returns:
        np.ndarray: The image, (H, W, 3) for ``flag='color'``.

    Raises:
        BadImageError: The file is empty, truncated or not decodable.
    """
    problem = find_image_problem(data)
    if problem is not None:
        raise BadImageError(path, problem)
    try:
        img = mmcv.imfrombytes(data, flag=flag, backend=backend)
    except Exception as exc:  # decoders raise many types; all mean the same here
        raise BadImageError(path, f'cannot be decoded ({type(exc).__name__}: {exc})') from exc
    if img is None or img.size == 0:
        raise BadImageError(path, 'cannot be decoded (corrupt data or not an image)')
    return img


@TRANSFORMS.register_module()
class LoadImageFromFile(MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with checks that raise :class:`BadImageError`.

    Same arguments as mmcv's. A missing, empty, truncated or undecodable file raises
    :class:`BadImageError` (which the mmdense datasets can turn into a skip);
    grayscale, RGBA, 16-bit and CMYK images load as 3-channel uint8 BGR.
    ``ignore_empty=True`` keeps mmcv's meaning: return None instead of raising.
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']``.

        Args:
            results: Dict with ``img_path``.

        Returns:
            dict | None: ``results`` with ``img`` (H, W, 3), ``img_shape`` and
            ``ori_shape``; None for a bad file when ``ignore_empty``.
        """
        path = results['img_path']
        try:
            try:
                data = fileio.get(path, backend_args=self.backend_args)
            except FileNotFoundError as exc:
                raise BadImageError(path, 'file not found (listed in the image list but '
                                    'missing on disk)') from exc
            img = decode_image(data, path, self.color_type, self.imdecode_backend)
        except BadImageError:
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
