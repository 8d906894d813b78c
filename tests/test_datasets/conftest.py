"""Shared fixtures of the dataset tests."""
import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def mmdense_scope():
    """Build configs in the mmdense scope, as the runner does with default_scope='mmdense'."""
    import mmdense.datasets  # noqa: F401  (registers the transforms and datasets)
    with DefaultScope.overwrite_default_scope('mmdense'):
        yield


@pytest.fixture
def write_image():
    """Write a seeded random image (H, W, 3) to a path, creating folders; return it."""

    def write(path, shape=(24, 32), seed=0):
        image = np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), image)
        return image

    return write
