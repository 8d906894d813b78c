"""Read DAVIS 2017 and write or read results in the layout its toolkit evaluates.

DAVIS 2017 (trainval, 480p) unpacks to::

    DAVIS/JPEGImages/480p/<sequence>/00000.jpg ...
    DAVIS/Annotations/480p/<sequence>/00000.png ...   # indexed PNGs: 0 background,
                                                      # 1..K objects, 255 void
    DAVIS/ImageSets/2017/{train,val}.txt              # one sequence name a line

and a method's results are indexed PNGs named like the annotations,
``<results>/<sequence>/<frame>.png`` (davis2017-evaluation, ``davis2017/davis.py`` and
``davis2017/results.py``). The toolkit reads label PNGs with ``np.array(Image.open(p))``,
which gives ids for palette images but colours for RGB ones; an RGB file would be
evaluated as nonsense, so it is refused here with the fix. Every mistake a user can make
with these folders is a :class:`~mmdense.utils.ConfigError` naming the path and the fix.
"""
import os
import os.path as osp
from typing import List, Sequence

import cv2
import numpy as np
from PIL import Image

from mmdense.utils.preflight import ConfigError

__all__ = ['DAVIS_URL', 'RESOLUTION', 'davis_palette', 'check_davis_root', 'read_sequence_list',
           'frame_paths', 'annotation_paths', 'read_frame', 'read_label_png', 'write_label_png',
           'write_sequence_results', 'read_predictions']

DAVIS_URL = 'https://davischallenge.org/davis2017/code.html'
RESOLUTION = '480p'
_DOWNLOAD = (f'download DAVIS-2017-trainval-480p.zip from {DAVIS_URL}, unpack it and pass '
             'its DAVIS folder (the one holding JPEGImages/, Annotations/, ImageSets/)')
# Image modes whose pixel values are ids ('1' is a two-label map).
_INDEXED_MODES = ('P', 'L', '1')


def davis_palette() -> np.ndarray:
    """The colour map of DAVIS annotations (the PASCAL VOC one), uint8 (256, 3) RGB.

    Entry ``i`` takes bits 0, 1, 2 of ``i`` as the top bits of red, green, blue, the next
    three bits as the next bits, and so on: 0 black, 1 (128, 0, 0), 2 (0, 128, 0), ...
    """
    ids = np.arange(256)
    palette = np.zeros((256, 3), np.int64)
    for shift in range(8):
        for channel in range(3):
            palette[:, channel] |= ((ids >> (3 * shift + channel)) & 1) << (7 - shift)
    return palette.astype(np.uint8)


def _require_dir(path: str, what: str, fix: str) -> None:
    if not osp.isdir(path):
        raise ConfigError(f'{what} {path} does not exist: {fix}.')


def check_davis_root(davis_root: str) -> None:
    """Refuse a DAVIS root that does not exist, saying where to get the dataset."""
    _require_dir(davis_root, 'DAVIS root', _DOWNLOAD)


def read_sequence_list(davis_root: str, split: str = 'val', year: str = '2017') -> List[str]:
    """Sequence names of a split, from ``ImageSets/<year>/<split>.txt``.

    Args:
        davis_root: The DAVIS folder.
        split: ``train``, ``val`` (or ``test-dev`` where that set is unpacked).
        year: The ImageSets year.

    Returns:
        list[str]: Names in file order.
    """
    check_davis_root(davis_root)
    path = osp.join(davis_root, 'ImageSets', year, f'{split}.txt')
    if not osp.isfile(path):
        raise ConfigError(f'sequence list {path} does not exist: pass the DAVIS folder that '
                          f'holds ImageSets/{year}/{split}.txt (--davis-root), or {_DOWNLOAD}.')
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise ConfigError(f'sequence list {path} is empty: it should name one sequence a line.')
    return names


def _sorted_files(folder: str, ext: str, what: str, fix: str) -> List[str]:
    _require_dir(folder, what, fix)
    files = sorted(name for name in os.listdir(folder) if name.lower().endswith(ext))
    if not files:
        raise ConfigError(f'{what} {folder} holds no {ext} files: {fix}.')
    return [osp.join(folder, name) for name in files]


def frame_paths(davis_root: str, sequence: str, resolution: str = RESOLUTION) -> List[str]:
    """Sorted ``.jpg`` frames of a sequence."""
    folder = osp.join(davis_root, 'JPEGImages', resolution, sequence)
    return _sorted_files(folder, '.jpg', 'frame folder',
                         f'check the sequence name, or {_DOWNLOAD}')


def annotation_paths(davis_root: str, sequence: str, resolution: str = RESOLUTION) -> List[str]:
    """Sorted ``.png`` annotations of a sequence (every frame for train and val)."""
    folder = osp.join(davis_root, 'Annotations', resolution, sequence)
    return _sorted_files(folder, '.png', 'annotation folder',
                         f'check the sequence name, or {_DOWNLOAD}')


def read_frame(path: str) -> np.ndarray:
    """A frame as BGR uint8 (H, W, 3)."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ConfigError(f'frame {path} cannot be read as an image: replace the file.')
    return image


def read_label_png(path: str, what: str = 'annotation') -> np.ndarray:
    """An indexed label PNG as uint8 ids (H, W); RGB files are refused.

    Args:
        path: The PNG file.
        what: How the file is named in errors (``annotation``, ``prediction``).

    Returns:
        np.ndarray: uint8 (H, W): 0 background, 1..K objects, 255 void.
    """
    if not osp.isfile(path):
        raise ConfigError(f'{what} {path} does not exist.')
    try:
        with Image.open(path) as image:
            mode = image.mode
            labels = np.array(image) if mode in _INDEXED_MODES else None
    except OSError as exc:
        raise ConfigError(f'{what} {path} cannot be read as an image ({exc}): replace '
                          'the file.') from None
    if labels is None:
        raise ConfigError(
            f"{what} {path} has image mode {mode}, not an indexed one: DAVIS label files "
            "are palette PNGs (mode 'P') whose pixel values are object ids (0 background, 1..K "
            'objects, 255 void); map each colour to its id and save them with '
            'mmdense.evaluation.davis_io.write_label_png.')
    return labels.astype(np.uint8)


def write_label_png(path: str, labels: np.ndarray) -> None:
    """Write uint8 ids (H, W) as a palette PNG with the DAVIS palette, atomically."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.min(initial=0) < 0 or labels.max(initial=0) > 255:
        raise ValueError(f'labels must be a (H, W) map of ids in 0..255, got shape '
                         f'{labels.shape}')
    image = Image.fromarray(labels.astype(np.uint8), mode='P')
    image.putpalette(davis_palette().flatten().tolist())
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp-{os.getpid()}'
    image.save(tmp, format='PNG')
    os.replace(tmp, path)


def write_sequence_results(out_dir: str, sequence: str, names: Sequence[str],
                           labels: Sequence[np.ndarray]) -> List[str]:
    """Write one sequence's label maps as ``<out_dir>/<sequence>/<name>.png``.

    Args:
        out_dir: Results root.
        sequence: Sequence name.
        names: Frame names without extension (``00000``, ...), one per map.
        labels: uint8 (H, W) maps.

    Returns:
        list[str]: The written paths.
    """
    if len(names) != len(labels):
        raise ValueError(f'{len(names)} names for {len(labels)} label maps')
    paths = [osp.join(out_dir, sequence, f'{name}.png') for name in names]
    for path, label in zip(paths, labels):
        write_label_png(path, label)
    return paths


def read_predictions(pred_dir: str, sequence: str, names: Sequence[str],
                     shape: Sequence[int]) -> np.ndarray:
    """A method's results of one sequence, in the frames the annotations name.

    Args:
        pred_dir: Results root holding ``<sequence>/<name>.png``.
        sequence: Sequence name.
        names: Frame names without extension, as the annotations are named.
        shape: (H, W) of the annotations.

    Returns:
        np.ndarray: uint8 (T, H, W) ids.
    """
    folder = osp.join(pred_dir, sequence)
    _require_dir(folder, 'results folder', f'the results in {pred_dir} lack sequence '
                 f'{sequence!r}: write one indexed PNG per annotated frame as '
                 f'{pred_dir}/{sequence}/<frame>.png, or evaluate fewer sequences '
                 '(--sequences)')
    masks = []
    for name in names:
        path = osp.join(folder, f'{name}.png')
        if not osp.isfile(path):
            raise ConfigError(f'prediction {path} does not exist: results need one indexed '
                              f'PNG per annotated frame, named like its annotation '
                              f'({name}.png).')
        mask = read_label_png(path, 'prediction')
        if mask.shape != tuple(shape):
            raise ConfigError(
                f'prediction {path} is {mask.shape[1]}x{mask.shape[0]} but its annotation '
                f'is {shape[1]}x{shape[0]}: write results at the resolution of the '
                'annotations (resize with nearest neighbour).')
        masks.append(mask)
    return np.stack(masks)
