"""Image loading that names the bad file and the fix instead of failing obscurely.

mmcv's ``LoadImageFromFile`` fails on a corrupt file with ``AssertionError: failed to
load image`` and, worse, decodes a truncated JPEG or PNG without any error (OpenCV
fills the missing rows with grey), so a damaged dataset trains silently on garbage.
The subclass below is registered under the same name in mmdense's transform registry
(as mmdet re-registers mmcv's ``Resize``), so every mmdense config gets the checks
with unchanged arguments; ``mmcv.LoadImageFromFile`` still names the original.

With ``reduced_decode=True`` a JPEG is only read up to its header: the loader leaves a
:class:`LazyJPEG` in ``results['lazy_img']``, and
:class:`~mmdense.datasets.transforms.RandomResizedCropWithBox` samples its crop from the
header's size and then decodes with libjpeg's DCT scaling (1/2, 1/4, 1/8) when the crop
allows it (docs/benchmarks.md, "Reduced-size decode").
"""
import struct
from typing import NamedTuple, Optional

import cv2
import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmengine import fileio

from mmdense.registry import TRANSFORMS

__all__ = [
    'BadImageError', 'find_image_problem', 'decode_image', 'LoadImageFromFile', 'LazyJPEG',
    'JPEGHeader', 'read_jpeg_header', 'materialize_image', 'DCT_SCALES'
]

_JPEG_START = b'\xff\xd8'
_JPEG_END = b'\xff\xd9'
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Writers may pad a file after its end marker; look this far back for it.
_TRAILER_WINDOW = 64
# Frame markers whose decode libjpeg can scale: baseline, extended and progressive
# Huffman-coded DCT. The other SOFn (lossless, arithmetic, hierarchical) are decoded
# at full size.
_SCALABLE_SOF = frozenset((0xC0, 0xC1, 0xC2))
_OTHER_SOF = frozenset(m for m in range(0xC3, 0xD0) if m not in (0xC4, 0xC8, 0xCC))
# Frame header fields: sample precision, height, width, number of components.
_SOF_FIELDS = struct.Struct('>BHHB')
# Markers without a length field.
_STANDALONE_MARKERS = frozenset((0x01, *range(0xD0, 0xD8)))
_EXIF_ORIENTATION_TAG = 0x0112
# OpenCV's reduced-size flags, per colour type and DCT scale denominator.
_REDUCED_FLAGS = {
    'color': {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
              8: cv2.IMREAD_REDUCED_COLOR_8},
    'grayscale': {2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
                  8: cv2.IMREAD_REDUCED_GRAYSCALE_8},
}
DCT_SCALES = (1, 2, 4, 8)


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


class JPEGHeader(NamedTuple):
    """What :func:`read_jpeg_header` reads: the size the decoder will return (EXIF
    rotation applied) and the EXIF orientation (1 when there is none)."""
    height: int
    width: int
    orientation: int


def _exif_orientation(tiff: bytes) -> int:
    """The orientation tag (1-8) of IFD0 of an EXIF block (its TIFF part), else 1."""
    if len(tiff) < 8 or tiff[:2] not in (b'II', b'MM'):
        return 1
    order = 'little' if tiff[:2] == b'II' else 'big'
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 1
    for i in range(int.from_bytes(tiff[ifd:ifd + 2], order)):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(tiff):
            break
        if int.from_bytes(tiff[entry:entry + 2], order) == _EXIF_ORIENTATION_TAG:
            value = int.from_bytes(tiff[entry + 8:entry + 10], order)
            return value if 1 <= value <= 8 else 1
    return 1


def read_jpeg_header(data: bytes, apply_orientation: bool = True) -> Optional[JPEGHeader]:
    """Size of a JPEG whose decode libjpeg can scale, from its markers, without decoding.

    Walks the marker segments up to the start of scan (a few hundred bytes to skip
    over, plus the EXIF block). OpenCV turns images by their EXIF orientation when it
    decodes (unless told to ignore it), so orientations 5-8 swap the returned height
    and width when ``apply_orientation``.

    Args:
        data: The file's bytes.
        apply_orientation: Report the size after EXIF rotation, as OpenCV decodes it.

    Returns:
        JPEGHeader | None: The decoded size and orientation; None when ``data`` is not
        an 8-bit baseline, extended or progressive Huffman JPEG with 1, 3 or 4
        components and a size in its frame header, or the markers are malformed
        (such files are decoded at full size, where any error is reported).
    """
    if not data.startswith(_JPEG_START):
        return None
    pos, end, size, orientation, exif_seen = 2, len(data), None, 1, False
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE_MARKERS:
            pos += 2
            continue
        if marker == 0xDA:  # start of scan: every header segment has been seen
            break
        if marker == 0xD9:
            return None
        length = (data[pos + 2] << 8) | data[pos + 3]
        if length < 2 or pos + 2 + length > end:
            return None
        if marker in _SCALABLE_SOF:
            if size is not None or length < 8:
                return None
            precision, height, width, components = _SOF_FIELDS.unpack_from(data, pos + 4)
            if precision != 8 or components not in (1, 3, 4) or not height or not width:
                return None
            size = (height, width)
        elif marker in _OTHER_SOF:
            return None
        elif marker == 0xE1 and not exif_seen and data.startswith(b'Exif\x00\x00', pos + 4):
            exif_seen = True
            orientation = _exif_orientation(data[pos + 10:pos + 2 + length])
        pos += 2 + length
    else:
        return None
    if size is None:
        return None
    height, width = size
    if apply_orientation and orientation >= 5:  # transposing orientations
        height, width = width, height
    return JPEGHeader(height, width, orientation)


class LazyJPEG:
    """A checked JPEG file read up to its header, decoded on request at 1/s of its size.

    Made by :class:`LoadImageFromFile` with ``reduced_decode=True``, consumed by
    :class:`~mmdense.datasets.transforms.RandomResizedCropWithBox`. Decodes are cached
    per scale, so the views of one sample (which share this object) decode once when the
    first view's scale also serves the later ones.

    Args:
        data: The file's bytes (already checked by :func:`find_image_problem`).
        path: The file, for error messages.
        header: Its :func:`read_jpeg_header` result.
        color_type: ``'color'`` or ``'grayscale'``, optionally ``'_ignore_orientation'``.
        to_float32: Convert decoded images to float32.
        ignore_empty: Return None instead of raising :class:`BadImageError`.

    Attributes:
        views_to_come: How many crops will still read this image (set by
            :class:`~mmdense.datasets.transforms.MultiView`, counted down by the crop);
            the first crop of several may decode finer than it needs so that the later
            ones can share its decode.
    """

    def __init__(self, data: bytes, path: str, header: JPEGHeader, color_type: str = 'color',
                 to_float32: bool = False, ignore_empty: bool = False) -> None:
        self.views_to_come = 1
        self.data = data
        self.path = path
        self.height, self.width = header.height, header.width
        self.color_type = color_type
        self.to_float32 = to_float32
        self.ignore_empty = ignore_empty
        self.decoded: dict[int, np.ndarray] = {}

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the full-size decode."""
        return self.height, self.width

    def decode(self, max_scale: int = 1) -> tuple[Optional[np.ndarray], int]:
        """The image decoded at 1/s of its size for some s <= ``max_scale``.

        A cached decode is reused when one has s <= ``max_scale`` (the coarsest such);
        otherwise the image is decoded at ``max_scale``: at 1 exactly as
        :func:`decode_image` decodes it (bit-identical to loading without
        ``reduced_decode``), at 2, 4 or 8 by libjpeg's scaled IDCT through OpenCV, whose
        output is ``ceil(H / s) x ceil(W / s)``, reduced pixel ``k`` covering original
        pixels ``[s k, s k + s)``.

        Args:
            max_scale: The largest allowed scale denominator, one of 1, 2, 4, 8.

        Returns:
            tuple[np.ndarray | None, int]: The image ((h, w, 3) for colour) and its s;
            ``(None, s)`` for a bad file when ``ignore_empty``.

        Raises:
            BadImageError: The file cannot be decoded, or decodes to another size than
                its header gives.
        """
        if max_scale not in DCT_SCALES:
            raise ValueError(f'max_scale must be one of {DCT_SCALES}, got {max_scale}')
        usable = [s for s in self.decoded if s <= max_scale]
        if usable:
            scale = max(usable)
            return self.decoded[scale], scale
        scale = max_scale
        try:
            img = self._decode(scale)
        except BadImageError:
            if self.ignore_empty:
                return None, scale
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        self.decoded[scale] = img
        return img, scale

    def _decode(self, scale: int) -> np.ndarray:
        if scale == 1:
            img = decode_image(self.data, self.path, self.color_type, 'cv2')
        else:
            base = self.color_type.replace('_ignore_orientation', '')
            flag = _REDUCED_FLAGS[base][scale]
            if self.color_type.endswith('_ignore_orientation'):
                flag |= cv2.IMREAD_IGNORE_ORIENTATION
            try:
                img = cv2.imdecode(np.frombuffer(self.data, np.uint8), flag)
            except Exception as exc:  # as in decode_image
                raise BadImageError(
                    self.path, f'cannot be decoded ({type(exc).__name__}: {exc})') from exc
            if img is None or img.size == 0:
                raise BadImageError(self.path, 'cannot be decoded (corrupt data or not an image)')
        expected = (-(-self.height // scale), -(-self.width // scale))
        if img.shape[:2] != expected:
            raise BadImageError(
                self.path, f'decodes at 1/{scale} to {img.shape[:2]}, not the {expected} its '
                f'JPEG header ({self.height}x{self.width}) implies; load it with '
                'reduced_decode=False')
        return img

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.path!r}, {self.height}x{self.width}, '
                f'decoded at 1/{sorted(self.decoded)})')


def materialize_image(results: dict) -> dict:
    """Decode a :class:`LazyJPEG` left by the loader at full size into ``results['img']``.

    For transforms that need the whole image; a no-op when ``img`` is there.

    Args:
        results: Result dict, possibly with ``lazy_img`` and no ``img``.

    Returns:
        dict | None: ``results`` with ``img`` (and without ``lazy_img``); None for a
        bad file when the loader had ``ignore_empty``.
    """
    lazy = results.pop('lazy_img', None)
    if lazy is not None and results.get('img') is None:
        img, _ = lazy.decode(1)
        if img is None:
            return None
        results['img'] = img
    return results


@TRANSFORMS.register_module()
class LoadImageFromFile(MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with checks that raise :class:`BadImageError`.

    Same arguments as mmcv's. A missing, empty, truncated or undecodable file raises
    :class:`BadImageError` (which the mmdense datasets can turn into a skip);
    grayscale, RGBA, 16-bit and CMYK images load as 3-channel uint8 BGR.
    ``ignore_empty=True`` keeps mmcv's meaning: return None instead of raising.

    With ``reduced_decode=True``, a JPEG that libjpeg can decode at reduced size (8-bit
    baseline, extended or progressive; see :func:`read_jpeg_header`) is checked and read
    up to its header only: ``results`` then holds a :class:`LazyJPEG` under ``lazy_img``
    and no ``img``, and ``img_shape``/``ori_shape`` come from the header (the size a
    full decode gives). The next transform must be
    :class:`~mmdense.datasets.transforms.RandomResizedCropWithBox` or a
    :class:`~mmdense.datasets.transforms.MultiView` (whose view pipelines decode at
    full size first unless they start with that crop). Other files load as without
    it. It needs the cv2 backend and a ``'color'`` or ``'grayscale'`` colour type.

    Args:
        reduced_decode: Defer JPEG decoding to the crop, which may decode at 1/2, 1/4
            or 1/8 size.
        *args, **kwargs: mmcv's ``LoadImageFromFile`` arguments.
    """

    def __init__(self, *args, reduced_decode: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if reduced_decode:
            if self.imdecode_backend != 'cv2':
                raise ValueError('reduced_decode=True decodes with OpenCV: it needs '
                                 f"imdecode_backend='cv2', got {self.imdecode_backend!r}")
            if self.color_type.replace('_ignore_orientation', '') not in _REDUCED_FLAGS:
                raise ValueError("reduced_decode=True needs color_type 'color' or "
                                 "'grayscale' (optionally '_ignore_orientation'), got "
                                 f'{self.color_type!r}')
        self.reduced_decode = reduced_decode

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']`` (or ``lazy_img``).

        Args:
            results: Dict with ``img_path``.

        Returns:
            dict | None: ``results`` with ``img`` (H, W, 3) or, with ``reduced_decode``
            and a JPEG, ``lazy_img``; ``img_shape`` and ``ori_shape``; None for a bad
            file when ``ignore_empty``.
        """
        path = results['img_path']
        try:
            try:
                data = fileio.get(path, backend_args=self.backend_args)
            except FileNotFoundError as exc:
                raise BadImageError(path, 'file not found (listed in the image list but '
                                    'missing on disk)') from exc
            header = None
            if self.reduced_decode:
                problem = find_image_problem(data)
                if problem is not None:
                    raise BadImageError(path, problem)
                header = read_jpeg_header(
                    data, apply_orientation=not self.color_type.endswith('_ignore_orientation'))
            if header is None:
                img = decode_image(data, path, self.color_type, self.imdecode_backend)
        except BadImageError:
            if self.ignore_empty:
                return None
            raise
        if header is not None:
            results.pop('img', None)
            results['lazy_img'] = LazyJPEG(data, path, header, self.color_type,
                                           self.to_float32, self.ignore_empty)
            results['img_shape'] = results['ori_shape'] = (header.height, header.width)
            return results
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', reduced_decode={self.reduced_decode})'
