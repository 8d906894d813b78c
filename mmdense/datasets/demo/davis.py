"""A tiny synthetic DAVIS 2017, in DAVIS's own layout, for the label propagation benchmark.

The DAVIS benchmark (:mod:`mmdense.evaluation.davis_benchmark`) reads the real dataset's
folders, so its tests and a first run need data in exactly that layout, and this machine
has no downloads. Each sequence here is a demo background (a crop of one of the
photographs scikit-image ships, as in :mod:`mmdense.datasets.demo.scenes`) with 1-3
textured objects of the demo's outlines that move along smooth paths (translation with a
slight sway and a slow change of scale), cross and occlude each other when their paths
meet (the later object is in front), under a brightness and contrast drift and per-frame
sensor noise. Every frame is annotated, as DAVIS val is; each object is visible in the
first frame, and the front-most one carries the largest id, so the number of objects is
the largest id of frame 0, as the toolkit counts it.

Layout written under ``root`` (the folder that holds ``DAVIS``)::

    DAVIS/JPEGImages/480p/<sequence>/00000.jpg ...
    DAVIS/Annotations/480p/<sequence>/00000.png ...   # palette PNGs, DAVIS palette
    DAVIS/ImageSets/2017/{train,val}.txt

The tree is written into a hidden folder and renamed into place with a stamp of the
generator version and every argument, and is a deterministic function of them. Run
``python -m mmdense.datasets.demo.davis --root data/demo_davis``.
"""
import argparse
import os
import os.path as osp
from typing import List, NamedTuple, Tuple

import cv2
import numpy as np

from mmdense.evaluation.davis_io import RESOLUTION, write_label_png
from mmdense.utils.atomic_publish import publish_atomically
from .scenes import (CATEGORY_TEXTURES, GENERATOR_VERSION, OBJECT_CATEGORIES, SCENE_STYLES,
                     SCENE_TYPES, _background, _object_mask, _texture)

# Bumped whenever the written bytes change for the same arguments; part of the stamp, with
# the version of the scene helpers it draws with.
DAVIS_GENERATOR_VERSION = 1
SPLITS = ('train', 'val')
MAX_OBJECTS = 3
# Smallest visible area (pixels) of every object in the first frame.
_MIN_FIRST_AREA = 12


class MovingObject(NamedTuple):
    """One object: its outline and texture on a square sprite canvas, and its path."""
    mask: np.ndarray  # uint8 (S, S) sprite outline
    texture: np.ndarray  # float32 (S, S, 3) BGR surface
    centre: np.ndarray  # (x, y) of the outline's centroid on the canvas
    start: np.ndarray  # (x, y) in the frame at the first frame
    end: np.ndarray  # (x, y) at the last frame
    sway: Tuple[float, float]  # amplitude (pixels, across the path) and phase
    scale_change: float  # relative scale at the last frame minus 1

    def place(self, t: float, height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
        """Mask bool (H, W) and texture (H, W, 3) at clip time ``t`` in [0, 1]."""
        path = self.end - self.start
        normal = np.array([-path[1], path[0]]) / (np.linalg.norm(path) + 1e-6)
        amplitude, phase = self.sway
        position = self.start + t * path + amplitude * np.sin(2 * np.pi * t + phase) * normal
        scale = 1 + self.scale_change * t
        matrix = np.array([[scale, 0, position[0] - scale * self.centre[0]],
                           [0, scale, position[1] - scale * self.centre[1]]], np.float32)
        mask = cv2.warpAffine(self.mask, matrix, (width, height), flags=cv2.INTER_NEAREST)
        texture = cv2.warpAffine(self.texture, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REFLECT)
        return mask.astype(bool), texture


def _sprite(rng: np.random.Generator, size: int, category: str) -> np.ndarray:
    """An outline of ``category`` lying inside a square canvas, uint8 (S, S)."""
    mask = _object_mask(rng, size, category)
    for _ in range(50):  # most outlines are neither cut by the canvas nor tiny
        inside = not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
        if inside and mask.sum() >= 0.02 * size * size:
            break
        mask = _object_mask(rng, size, category)
    return mask.astype(np.uint8)


def _moving_object(rng: np.random.Generator, style, height: int, width: int, slot: int,
                   count: int) -> MovingObject:
    """An object starting in its own horizontal slot of the frame, ending anywhere."""
    size = min(height, width)
    category = OBJECT_CATEGORIES[rng.integers(len(OBJECT_CATEGORIES))]
    mask = _sprite(rng, size, category)
    colour = np.asarray(style.palette[rng.integers(len(style.palette))], np.float32)
    texture = _texture(rng, size, colour + rng.normal(0, 15, 3), CATEGORY_TEXTURES[category])
    ys, xs = np.nonzero(mask)
    start = np.array([width * (slot + rng.uniform(0.3, 0.7)) / count,
                      height * rng.uniform(0.3, 0.7)])
    end = np.array([width * rng.uniform(0.15, 0.85), height * rng.uniform(0.2, 0.8)])
    return MovingObject(mask, texture.astype(np.float32), np.array([xs.mean(), ys.mean()]),
                        start, end, (height * rng.uniform(0, 0.06), rng.uniform(0, 2 * np.pi)),
                        rng.uniform(-0.2, 0.2))


def _cross_paths(rng: np.random.Generator, objects: List[MovingObject]) -> List[MovingObject]:
    """Send some objects towards where an earlier one starts, so paths meet and occlude."""
    crossed = list(objects)
    for k in range(1, len(objects)):
        if rng.uniform() < 0.5:
            target = objects[rng.integers(k)].start
            crossed[k] = objects[k]._replace(end=target + rng.normal(0, 3, 2))
    return crossed


def _draw(objects: List[MovingObject], background: np.ndarray,
          t: float) -> Tuple[np.ndarray, np.ndarray]:
    """The frame (float32 BGR) and its labels (uint8) at time ``t``; later objects in front."""
    height, width = background.shape[:2]
    image, labels = background.copy(), np.zeros((height, width), np.uint8)
    for obj_id, obj in enumerate(objects, start=1):
        mask, texture = obj.place(t, height, width)
        image[mask] = texture[mask]
        labels[mask] = obj_id
    return image, labels


def render_sequence(seed: int, split: str, index: int, num_frames: int, height: int,
                    width: int) -> Tuple[str, List[np.ndarray], List[np.ndarray]]:
    """Render one sequence.

    Args:
        seed: Seed of the generator; the sequence depends on (seed, split, index) only.
        split: ``'train'`` or ``'val'``.
        index: Index of the sequence in its split.
        num_frames: Frames T.
        height: Frame height H.
        width: Frame width W.

    Returns:
        tuple: The sequence name, T BGR uint8 frames (H, W, 3) and T uint8 label maps
        (H, W): 0 background, 1..K objects.
    """
    scene_type = SCENE_TYPES[(index + 2 * SPLITS.index(split)) % len(SCENE_TYPES)]
    style = SCENE_STYLES[scene_type]
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    side = max(height, width)
    background = _background(rng, side, style)
    top, left = (side - height) // 2, (side - width) // 2
    background = background[top:top + height, left:left + width]
    count = int(rng.integers(1, MAX_OBJECTS + 1))
    for _ in range(20):  # every object visible in the first frame (ids 1..K present)
        objects = [_moving_object(rng, style, height, width, slot, count)
                   for slot in rng.permutation(count)]
        objects = _cross_paths(rng, objects)
        _, first = _draw(objects, background, 0.0)
        if all((first == k).sum() >= _MIN_FIRST_AREA for k in range(1, count + 1)):
            break
    contrast, brightness = rng.uniform(0.8, 1.2), rng.uniform(-25, 25)
    frames, annotations = [], []
    for i in range(num_frames):
        t = i / max(num_frames - 1, 1)
        image, labels = _draw(objects, background, t)
        mean = image.mean()
        # Lighting drifts over the clip, as outdoor videos' exposure does.
        image = (image - mean) * (1 + (contrast - 1) * t) + mean + brightness * t
        image = image + rng.normal(0, 2, image.shape)
        frames.append(np.clip(image, 0, 255).round().astype(np.uint8))
        annotations.append(labels)
    return f'{scene_type}-{split}-{index:02d}', frames, annotations


def _write_jpeg(path: str, image: np.ndarray) -> None:
    ok, encoded = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise RuntimeError(f'cv2 could not encode {path}')
    with open(path, 'wb') as f:
        f.write(encoded.tobytes())


def _write_davis(out: str, counts: dict, num_frames: int, height: int, width: int,
                 seed: int) -> None:
    for split, count in counts.items():
        names = []
        for index in range(count):
            name, frames, annotations = render_sequence(seed, split, index, num_frames,
                                                        height, width)
            frame_dir = osp.join(out, 'JPEGImages', RESOLUTION, name)
            os.makedirs(frame_dir)
            for i, (frame, labels) in enumerate(zip(frames, annotations)):
                _write_jpeg(osp.join(frame_dir, f'{i:05d}.jpg'), frame)
                write_label_png(osp.join(out, 'Annotations', RESOLUTION, name, f'{i:05d}.png'),
                                labels)
            names.append(name)
        sets_dir = osp.join(out, 'ImageSets', '2017')
        os.makedirs(sets_dir, exist_ok=True)
        with open(osp.join(sets_dir, f'{split}.txt'), 'w') as f:
            f.writelines(f'{name}\n' for name in names)


def generate_davis_demo_data(root: str = 'data/demo_davis', num_train: int = 2,
                             num_val: int = 2, num_frames: int = 8, height: int = 64,
                             width: int = 96, seed: int = 0) -> str:
    """Write the synthetic DAVIS under ``root`` unless it is already there.

    Args:
        root: Output folder; the dataset is ``root/DAVIS``.
        num_train: Sequences of the train split.
        num_val: Sequences of the val split.
        num_frames: Frames per sequence (at least 3: evaluation leaves out the first and
            the last).
        height: Frame height.
        width: Frame width.
        seed: Seed of the generator.

    Returns:
        str: The DAVIS root, ``root/DAVIS``.
    """
    if num_train < 1 or num_val < 1 or num_frames < 3 or min(height, width) < 32:
        raise ValueError(f'need num_train, num_val >= 1, num_frames >= 3 and frames of at '
                         f'least 32x32, got {num_train}, {num_val}, {num_frames}, '
                         f'{width}x{height}.')
    stamp = (f'mmdense DAVIS demo data v{DAVIS_GENERATOR_VERSION}.{GENERATOR_VERSION}: '
             f'num_train={num_train} num_val={num_val} num_frames={num_frames} height={height} '
             f'width={width} seed={seed}')
    counts = dict(train=num_train, val=num_val)
    return publish_atomically(
        root, 'DAVIS', lambda out: _write_davis(out, counts, num_frames, height, width, seed),
        stamp)


def main(argv: list[str] | None = None) -> str:
    """Command line entry: ``python -m mmdense.datasets.demo.davis --root DIR``."""
    parser = argparse.ArgumentParser(description='Write a tiny synthetic DAVIS 2017.')
    parser.add_argument('--root', default='data/demo_davis',
                        help='output folder; the dataset is ROOT/DAVIS')
    parser.add_argument('--num-train', type=int, default=2)
    parser.add_argument('--num-val', type=int, default=2)
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument('--height', type=int, default=64)
    parser.add_argument('--width', type=int, default=96)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    davis_root = generate_davis_demo_data(args.root, args.num_train, args.num_val,
                                          args.num_frames, args.height, args.width, args.seed)
    print(davis_root)
    return davis_root


if __name__ == '__main__':
    main()
