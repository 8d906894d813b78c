"""Synthetic scene images for demos and tests, generated on the fly (no download).

Each image is a small "scene": a random crop of a natural photograph or texture
that scikit-image ships inside its wheel (a cat, a coffee cup, motorcycles, grass,
bricks, ...), with several objects of irregular outline drawn over it and over
each other (so they occlude), at varied scale and position, some cut by the image
border. Each object category has its own outline and, most of the time, its own
surface texture, as real categories do; colours come from the scene type. Objects
are what dense methods must tell apart, so the images have the structure that
makes DenseCL/PixPro differ from MoCo, at a size that trains in seconds.

Layout written under ``root`` (ImageNet style, so the ImageNet configs and
:class:`~mmdense.datasets.UnlabeledImageDataset` read it unchanged)::

    root/unlabeled/train/<scene_type>/<scene_type>_<index>.JPEG
    root/unlabeled/meta/train.txt          # "<scene_type>/<name>.JPEG <scene index>"

Every split is written into a hidden temporary folder and renamed into place
in one step, with a ``.generator`` stamp (generator version and arguments) that a
later call checks, so data from another version or size is never used silently, and
concurrent generators (all ranks of a distributed run) end with one complete tree and
readers never see a partial one. :func:`render_scene` also returns a per-pixel
object-category map, ready for labelled splits.

Run ``python -m mmdense.datasets.demo.scenes --root data/demo`` to write it.
"""
import argparse
import functools
import os
import os.path as osp
from typing import NamedTuple

import cv2
import numpy as np

from mmdense.utils.atomic_publish import publish_atomically

OBJECT_CATEGORIES = ('ellipse', 'polygon', 'blob', 'star')
# Bumped whenever the rendered bytes change for the same arguments; part of the stamp.
GENERATOR_VERSION = 2
TEXTURE_KINDS = ('mottled', 'stripes', 'checks', 'spots')
# Each category's usual surface; an object has it with this probability, else any kind.
CATEGORY_TEXTURES = dict(ellipse='mottled', polygon='stripes', blob='spots', star='checks')
TYPICAL_TEXTURE_PROB = 0.8


class SceneStyle(NamedTuple):
    """How one scene type looks: background sources, tint, object colours (BGR)."""
    backgrounds: tuple[str, ...]  # files in scikit-image's data folder
    tint: tuple[float, float, float]  # colour given to the grey textures among them
    palette: tuple[tuple[float, float, float], ...]


SCENE_STYLES: dict[str, SceneStyle] = {
    'meadow': SceneStyle(('grass.png', 'chelsea.png'), (60, 150, 90),
                         ((40, 40, 200), (30, 200, 230), (200, 120, 60), (240, 240, 240))),
    'street': SceneStyle(('brick.png', 'motorcycle_left.png', 'motorcycle_right.png',
                          'rocket.jpg'), (120, 120, 125),
                         ((30, 30, 180), (200, 90, 30), (40, 180, 220), (20, 20, 20))),
    'kitchen': SceneStyle(('coffee.png', 'astronaut.png'), (170, 200, 220),
                          ((60, 90, 160), (180, 60, 150), (50, 150, 60), (90, 60, 40))),
    'shore': SceneStyle(('gravel.png', 'hubble_deep_field.jpg'), (200, 170, 110),
                        ((80, 180, 230), (30, 90, 200), (220, 220, 200), (120, 60, 20))),
}
SCENE_TYPES = tuple(SCENE_STYLES)


def render_scene(rng: np.random.Generator, image_size: int, scene_type: str,
                 return_instances: bool = False) -> tuple[np.ndarray, ...]:
    """Draw one synthetic scene.

    Args:
        rng: Source of all randomness, so a seeded generator gives the same scene.
        image_size: Side length S of the square image.
        scene_type: A key of :data:`SCENE_STYLES`.
        return_instances: Also return the instance map. It is derived from the
            drawn masks without drawing more random numbers, so the image and
            category map are the same either way.

    Returns:
        tuple[np.ndarray, ...]: The BGR image, uint8 (S, S, 3), and the
        category map, uint8 (S, S): 0 for background, ``i + 1`` where the
        visible object is of category ``OBJECT_CATEGORIES[i]``; with
        ``return_instances``, third, the instance map, uint8 (S, S): 0 for
        background, ``k + 1`` where the ``k``-th drawn object is visible.
    """
    style = SCENE_STYLES[scene_type]
    image = _background(rng, image_size, style)
    categories = np.zeros((image_size, image_size), np.uint8)
    instances = np.zeros((image_size, image_size), np.uint8)
    for index in range(rng.integers(3, 7)):
        category = int(rng.integers(len(OBJECT_CATEGORIES)))
        name = OBJECT_CATEGORIES[category]
        mask = _object_mask(rng, image_size, name)
        colour = np.asarray(style.palette[rng.integers(len(style.palette))], np.float32)
        kind = CATEGORY_TEXTURES[name]
        if rng.uniform() >= TYPICAL_TEXTURE_PROB:
            kind = TEXTURE_KINDS[rng.integers(len(TEXTURE_KINDS))]
        texture = _texture(rng, image_size, colour + rng.normal(0, 15, 3), kind)
        # Drawing later objects over earlier ones is what creates occlusion.
        image[mask] = texture[mask]
        categories[mask] = category + 1
        instances[mask] = index + 1
    image = np.clip(image, 0, 255).round().astype(np.uint8)
    return (image, categories, instances) if return_instances else (image, categories)


@functools.lru_cache(maxsize=None)
def _photo(name: str) -> tuple[np.ndarray, bool]:
    """One of scikit-image's bundled sample images as BGR float32 (H, W, 3), cached,
    and whether it is grey (its three planes equal)."""
    try:
        import skimage.data
    except ImportError as error:
        raise ImportError('The demo data draws its backgrounds from the sample images that '
                          'scikit-image ships: pip install scikit-image (tools/setup/'
                          'setup_env.sh installs it).') from error
    path = osp.join(osp.dirname(skimage.data.__file__), name)
    image = cv2.imread(path, cv2.IMREAD_COLOR)  # grey files come back as three equal planes
    if image is None:
        raise FileNotFoundError(f'{path} is missing from the installed scikit-image; '
                                'reinstall it (pip install --force-reinstall scikit-image).')
    return image.astype(np.float32), bool((image[..., 0] == image[..., 2]).all())


def _background(rng: np.random.Generator, size: int, style: SceneStyle) -> np.ndarray:
    """A random square crop of one of the style's photographs, float32 (S, S, 3)."""
    name = style.backgrounds[rng.integers(len(style.backgrounds))]
    photo, grey = _photo(name)
    height, width = photo.shape[:2]
    side = int(min(height, width) * rng.uniform(0.25, 1.0))
    top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
    crop = photo[top:top + side, left:left + side]
    if rng.uniform() < 0.5:
        crop = crop[:, ::-1]
    image = cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=cv2.INTER_AREA)
    if grey:  # a grey texture: give it the scene's tint
        image = image / 128 * np.asarray(style.tint, np.float32)
    # A light gradient across the scene, as from a light source off to one side.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, 2 * np.pi)
    image += 25 * (np.cos(angle) * xx + np.sin(angle) * yy - 0.5)[..., None]
    return image + rng.normal(0, 3, (size, size, 3)).astype(np.float32)


def _object_mask(rng: np.random.Generator, size: int, category: str) -> np.ndarray:
    """A filled star-shaped outline of the category, bool (S, S)."""
    centre = rng.uniform(-0.1, 1.1, 2) * size  # may be cut by the border
    radius = size * rng.uniform(0.08, 0.32)
    if category == 'ellipse':
        theta = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        aspect, tilt = rng.uniform(0.35, 1.0), rng.uniform(0, np.pi)
        radii = radius * aspect / np.sqrt((aspect * np.cos(theta - tilt))**2 +
                                          np.sin(theta - tilt)**2)
        radii *= 1 + 0.06 * np.sin(3 * theta + rng.uniform(0, 2 * np.pi))
    elif category == 'polygon':
        n = int(rng.integers(3, 8))
        theta = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = radius * rng.uniform(0.6, 1.1, n)
    elif category == 'blob':
        theta = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        radii = np.full_like(theta, radius)
        for k in range(2, 6):
            # Higher harmonics get smaller amplitudes, so outlines wobble but stay blobs.
            radii += radius * rng.uniform(0, 0.5 / k) * np.cos(k * theta + rng.uniform(0, 7))
    else:  # star
        n = int(rng.integers(4, 8))
        theta = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False) + rng.uniform(0, np.pi)
        radii = np.where(np.arange(2 * n) % 2 == 0, radius, radius * rng.uniform(0.35, 0.6))
    points = centre + np.stack([np.cos(theta), np.sin(theta)], axis=1) * radii[:, None]
    mask = np.zeros((size, size), np.uint8)
    # shift=2 draws with quarter-pixel vertex precision, so small shapes keep their form.
    cv2.fillPoly(mask, [np.round(points * 4).astype(np.int32)], 1, cv2.LINE_8, shift=2)
    return mask.astype(bool)


def _texture(rng: np.random.Generator, size: int, colour: np.ndarray,
             kind: str) -> np.ndarray:
    """A full-image texture of ``kind`` (one of :data:`TEXTURE_KINDS`) around ``colour``
    (BGR), float32 (S, S, 3)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    other = colour * rng.uniform(0.4, 0.8)
    if kind == 'mottled':
        weight = rng.normal(0, 0.15, (size, size)).astype(np.float32)
    elif kind == 'stripes':  # at a random angle
        angle, period = rng.uniform(0, np.pi), rng.uniform(3, 9)
        phase = (np.cos(angle) * xx + np.sin(angle) * yy) / period
        weight = (np.floor(phase) % 2).astype(np.float32)
    elif kind == 'checks':
        cell = int(rng.integers(3, 8))
        weight = ((xx // cell + yy // cell) % 2).astype(np.float32)
    elif kind == 'spots':  # thresholded smooth noise
        coarse = rng.uniform(0, 1, (size // 6 + 2, size // 6 + 2)).astype(np.float32)
        weight = (cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC) > 0.6)
        weight = weight.astype(np.float32)
    else:
        raise ValueError(f'unknown texture kind {kind!r}; expected one of {TEXTURE_KINDS}')
    weight = weight[..., None]
    return colour * (1 - weight) + other * weight + rng.normal(0, 4, (size, size, 3))


def _write_unlabeled_split(out_dir: str, num_images: int, image_size: int, seed: int) -> None:
    lines = []
    for index in range(num_images):
        scene_index = index % len(SCENE_TYPES)
        scene_type = SCENE_TYPES[scene_index]
        # A generator per image: an image depends on (seed, index) only.
        image, _ = render_scene(np.random.default_rng([seed, index]), image_size, scene_type)
        relative_path = f'{scene_type}/{scene_type}_{index:05d}.JPEG'
        path = osp.join(out_dir, 'train', relative_path)
        os.makedirs(osp.dirname(path), exist_ok=True)
        ok, encoded = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise RuntimeError(f'cv2 could not encode demo image {relative_path}')
        with open(path, 'wb') as f:
            f.write(encoded.tobytes())
        lines.append(f'{relative_path} {scene_index}\n')
    os.makedirs(osp.join(out_dir, 'meta'))
    with open(osp.join(out_dir, 'meta', 'train.txt'), 'w') as f:
        f.writelines(lines)


def generate_demo_data(root: str = 'data/demo',
                       num_images: int = 64,
                       image_size: int = 96,
                       seed: int = 0) -> str:
    """Write the unlabeled demo split under ``root`` unless it is already there.

    The output is a deterministic function of the arguments (same bytes for
    the same seed), and safe to call from several processes at once.

    Args:
        root: Demo data root; the split goes to ``root/unlabeled``.
        num_images: Number of images, spread evenly over :data:`SCENE_TYPES`.
        image_size: Side length of the square images.
        seed: Seed of the scene generator.

    Returns:
        str: The path of the split, ``root/unlabeled``.
    """
    if num_images < 1 or image_size < 8:
        raise ValueError(f'need num_images >= 1 and image_size >= 8, got {num_images} and '
                         f'{image_size}')
    return publish_atomically(
        root, 'unlabeled',
        lambda out_dir: _write_unlabeled_split(out_dir, num_images, image_size, seed),
        f'mmdense demo data v{GENERATOR_VERSION}: unlabeled num_images={num_images} '
        f'image_size={image_size} seed={seed}')


def main(argv: list[str] | None = None) -> None:
    """Command line entry: ``python -m mmdense.datasets.demo.scenes --root data/demo``."""
    parser = argparse.ArgumentParser(description='Write the synthetic mmdense demo data.')
    parser.add_argument('--root', default='data/demo', help='output root folder')
    parser.add_argument('--num-images', type=int, default=64)
    parser.add_argument('--image-size', type=int, default=96)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    existed = osp.isdir(osp.join(args.root, 'unlabeled'))
    path = generate_demo_data(args.root, args.num_images, args.image_size, args.seed)
    print(f'{path} already exists; left unchanged.' if existed else f'Wrote {path}')


if __name__ == '__main__':
    main()
