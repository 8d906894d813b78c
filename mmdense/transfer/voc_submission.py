"""Package VOC 2012 test-set predictions for the PASCAL VOC evaluation server.

The VOC 2012 test annotations are not public: segmentation results on the test split are
scored by the evaluation server (host.robots.ox.ac.uk), which takes a tar archive of
``results/VOC2012/Segmentation/<competition>_test_cls/<image id>.png``, one PNG per id of
``ImageSets/Segmentation/test.txt``, each the size of its image, holding class indices as
an *indexed* PNG with the VOC colour map (``VOClabelcolormap(256)`` of the devkit), i.e. in
the format of the ``SegmentationClass`` ground truth: 0 background, 1-20 the classes in the
devkit's order, 255 "void". The devkit's competitions for segmentation are ``comp5``
(trained on VOC 2012 data only) and ``comp6`` (trained with any other data as well); an
ImageNet-pre-trained backbone, and the SBD "aug" masks, put our runs in ``comp6``.

mmseg's ``IoUMetric(format_only=True, output_dir=DIR)`` (the ``..._voc12test.py`` configs)
writes ``DIR/<image id>.png`` as 8-bit greyscale PNGs of the predicted index.
:func:`make_voc_submission` checks them (every id present, values in 0-20 or 255, sizes equal
to the images' where the images are at hand) before writing anything, writes the palette
PNGs and the ``.tar.gz`` to upload. ``tools/benchmarks/mmseg/voc_submission.py`` is its
command line.
"""
import argparse
import os
import os.path as osp
import shutil
import tarfile
import tempfile
from typing import List, NamedTuple, Optional, Sequence

import numpy as np
from PIL import Image

from mmdense.utils import ConfigError

__all__ = [
    'COMPETITIONS', 'NUM_CLASSES', 'IGNORE_INDEX', 'SubmissionError', 'Submission',
    'voc_palette', 'read_ids', 'read_prediction', 'make_voc_submission', 'main'
]

COMPETITIONS = {
    'comp5': 'trained on VOC 2012 data only',
    'comp6': 'trained with data from outside VOC 2012 as well (ImageNet pre-training, SBD)',
}
NUM_CLASSES = 21  # background + 20 object classes
IGNORE_INDEX = 255  # "void" in the VOC ground truth


class SubmissionError(ConfigError):
    """Predictions that the server would reject or score wrongly; the message says which."""


class Submission(NamedTuple):
    """What :func:`make_voc_submission` wrote."""
    results_dir: str  # .../results/VOC2012/Segmentation/<competition>_test_cls
    tarball: str  # the archive to upload, holding results/VOC2012/Segmentation/...
    num_images: int
    num_size_checked: int  # predictions whose size was compared with their JPEG


def voc_palette(num_colors: int = 256) -> np.ndarray:
    """The VOC devkit's label colour map (``VOClabelcolormap``).

    Colour of index ``i``: the bits of ``i`` taken three at a time, the lowest of each triple
    into red, the next into green, the next into blue, filled from the most significant bit
    down (0 black, 1 (128, 0, 0), 2 (0, 128, 0), ..., 255 (224, 224, 192)).

    Args:
        num_colors: Number of entries.

    Returns:
        np.ndarray: (num_colors, 3) uint8 RGB.
    """
    palette = np.zeros((num_colors, 3), np.uint8)
    for index in range(num_colors):
        value, rgb = index, [0, 0, 0]
        for bit in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << bit
            value >>= 3
        palette[index] = rgb
    return palette


def read_ids(path: str) -> List[str]:
    """Image ids of a VOC ``ImageSets`` list, one a line (blank lines skipped).

    Raises:
        SubmissionError: The file is missing, empty or repeats an id.
    """
    if not osp.isfile(path):
        raise SubmissionError(f'image list {path!r} does not exist (the test list comes with '
                              'VOC2012test.tar, as ImageSets/Segmentation/test.txt of VOC2012).')
    with open(path) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        raise SubmissionError(f'image list {path!r} holds no ids.')
    if len(set(ids)) != len(ids):
        raise SubmissionError(f'image list {path!r} repeats ids.')
    return ids


def read_prediction(path: str) -> np.ndarray:
    """Read one prediction PNG as class indices.

    Args:
        path: Greyscale (``L``, what mmseg's ``IoUMetric`` writes) or indexed (``P``) PNG.

    Returns:
        np.ndarray: (H, W) uint8 indices.

    Raises:
        SubmissionError: A colour (RGB) or wider-than-8-bit image, whose pixels are not
            indices.
    """
    with Image.open(path) as image:
        if image.mode not in ('L', 'P'):
            raise SubmissionError(
                f'{path} is a {image.mode} image; the predictions must be class indices '
                '(8-bit greyscale as written by IoUMetric(format_only=True), or indexed PNGs).')
        return np.array(image)


def _check_predictions(pred_dir: str, ids: Sequence[str], img_dir: Optional[str]) -> int:
    """Read every prediction; raise one error listing all problems, else return how many
    were compared in size with their image. (Nothing is kept: the 1456 VOC test maps would
    take hundreds of MB.)"""
    missing = [i for i in ids if not osp.isfile(osp.join(pred_dir, f'{i}.png'))]
    if missing:
        shown = ', '.join(missing[:5]) + (' ...' if len(missing) > 5 else '')
        raise SubmissionError(
            f'{len(missing)} of {len(ids)} test ids have no {pred_dir}/<id>.png ({shown}): the '
            'server needs every id; run tools/benchmarks/test.py with a ..._voc12test.py '
            'config over the whole ImageSets/Segmentation/test.txt.')
    bad_values, bad_sizes, size_checked = [], [], 0
    for image_id in ids:
        labels = read_prediction(osp.join(pred_dir, f'{image_id}.png'))
        values = np.unique(labels)
        wrong = values[(values >= NUM_CLASSES) & (values != IGNORE_INDEX)]
        if wrong.size:
            bad_values.append(f'{image_id} ({", ".join(map(str, wrong[:5].tolist()))})')
        jpg = osp.join(img_dir, f'{image_id}.jpg') if img_dir else None
        if jpg and osp.isfile(jpg):
            with Image.open(jpg) as image:
                width, height = image.size
            size_checked += 1
            if labels.shape != (height, width):
                bad_sizes.append(f'{image_id} ({labels.shape[1]}x{labels.shape[0]}, image '
                                 f'{width}x{height})')
    problems = []
    if bad_values:
        problems.append(f'values outside 0-{NUM_CLASSES - 1} and {IGNORE_INDEX} in '
                        f'{len(bad_values)} predictions: {"; ".join(bad_values[:5])}'
                        f'{" ..." if len(bad_values) > 5 else ""} (not VOC class indices: a '
                        'model with another class list?)')
    if bad_sizes:
        problems.append(f'{len(bad_sizes)} predictions differ in size from their image: '
                        f'{"; ".join(bad_sizes[:5])}{" ..." if len(bad_sizes) > 5 else ""}')
    if problems:
        raise SubmissionError(f'{pred_dir}: ' + '; '.join(problems) + '. Nothing was written.')
    return size_checked


def _reset_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # The archive does not carry the local user's name and ids.
    info.uid = info.gid = 0
    info.uname = info.gname = ''
    return info


def make_voc_submission(pred_dir: str, ids_file: str, out_dir: str, competition: str = 'comp6',
                        img_dir: Optional[str] = None, tarball: Optional[str] = None,
                        overwrite: bool = False, year: str = 'VOC2012') -> Submission:
    """Check the predictions, then write the server's folder layout and its archive.

    Args:
        pred_dir: Folder of ``<id>.png`` class-index PNGs (``IoUMetric`` ``output_dir``).
        ids_file: ``ImageSets/Segmentation/test.txt``: the ids to submit, all required.
        out_dir: Where ``results/<year>/Segmentation/<competition>_test_cls/`` and the
            archive are written.
        competition: ``'comp6'`` (any training data) or ``'comp5'`` (VOC 2012 only).
        img_dir: ``JPEGImages`` of the test images: predictions are compared in size with
            every image found there; None skips the comparison.
        tarball: Path of the archive; default ``out_dir/results.tar.gz``.
        overwrite: Replace an existing results folder of this competition (else refuse).
        year: The challenge folder name.

    Returns:
        Submission: The results folder, the archive, how many images, how many size-checked.

    Raises:
        SubmissionError: Missing ids, values other than 0-20 and 255, sizes that differ from
            the images', an unknown competition, or an existing results folder.
    """
    if competition not in COMPETITIONS:
        raise SubmissionError(f'competition {competition!r}: choose from {sorted(COMPETITIONS)} '
                              f'({"; ".join(f"{k}: {v}" for k, v in COMPETITIONS.items())}).')
    ids = read_ids(ids_file)
    size_checked = _check_predictions(pred_dir, ids, img_dir)

    relative = osp.join('results', year, 'Segmentation', f'{competition}_test_cls')
    results_dir = osp.join(out_dir, relative)
    if osp.exists(results_dir):
        if not overwrite:
            raise SubmissionError(f'{results_dir} exists; pass --overwrite to replace it, or '
                                  'choose another --out-dir.')
        shutil.rmtree(results_dir)
    os.makedirs(results_dir)
    palette = voc_palette().flatten().tolist()
    for image_id in ids:
        labels = read_prediction(osp.join(pred_dir, f'{image_id}.png'))
        image = Image.fromarray(labels)  # 'L'; putpalette makes it 'P' with the same indices
        image.putpalette(palette)
        image.save(osp.join(results_dir, f'{image_id}.png'))

    tarball = tarball or osp.join(out_dir, 'results.tar.gz')
    # Written beside its target and renamed: an interrupted run leaves no partial archive.
    fd, tmp_path = tempfile.mkstemp(prefix='.results-', suffix='.tar.gz',
                                    dir=osp.dirname(osp.abspath(tarball)))
    os.close(fd)
    try:
        with tarfile.open(tmp_path, 'w:gz') as tar:
            # Only this competition's folder (and its parents), under the path the server
            # expects.
            parts = relative.split(os.sep)
            for depth in range(1, len(parts) + 1):
                folder = '/'.join(parts[:depth])
                tar.add(osp.join(out_dir, *parts[:depth]), arcname=folder, recursive=False,
                        filter=_reset_owner)
            for image_id in ids:
                tar.add(osp.join(results_dir, f'{image_id}.png'),
                        arcname=f'{relative}/{image_id}.png', filter=_reset_owner)
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, tarball)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
    return Submission(results_dir, tarball, len(ids), size_checked)


def main(argv: Optional[Sequence[str]] = None) -> Submission:
    """Command line of ``tools/benchmarks/mmseg/voc_submission.py``."""
    parser = argparse.ArgumentParser(
        description='Turn IoUMetric(format_only=True) PNGs of the VOC 2012 test split into the '
        'evaluation server\'s results folder and tar.gz.')
    parser.add_argument('pred_dir', help='folder of <image id>.png predictions '
                        '(tools/benchmarks/test.py writes WORK_DIR/pred)')
    parser.add_argument('--voc-root', default='data/VOCdevkit/VOC2012',
                        help='VOC2012 folder holding ImageSets/Segmentation/<split>.txt and '
                        'JPEGImages (for the size check)')
    parser.add_argument('--split', default='test', help='image list under ImageSets/Segmentation')
    parser.add_argument('--out-dir', default=None,
                        help='where results/ and results.tar.gz go; default: the folder beside '
                        'PRED_DIR named submission')
    parser.add_argument('--competition', choices=sorted(COMPETITIONS), default='comp6',
                        help='comp6: trained with data outside VOC 2012 (ImageNet pre-training, '
                        'SBD aug); comp5: VOC 2012 only')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing results folder of the competition')
    args = parser.parse_args(argv)
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(args.pred_dir)), 'submission')
    img_dir = osp.join(args.voc_root, 'JPEGImages')
    submission = make_voc_submission(
        args.pred_dir, osp.join(args.voc_root, 'ImageSets', 'Segmentation', f'{args.split}.txt'),
        out_dir, args.competition, img_dir if osp.isdir(img_dir) else None,
        overwrite=args.overwrite)
    print(f'{submission.num_images} predictions ({submission.num_size_checked} size-checked '
          f'against {img_dir}) -> {submission.results_dir}')
    print(f'upload: {submission.tarball}')
    return submission
