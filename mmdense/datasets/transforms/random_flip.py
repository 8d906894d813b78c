"""mmcv's RandomFlip that also flips the view box."""
import mmcv
import numpy as np
from mmcv.transforms import RandomFlip

from mmdense.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomFlipWithBox(RandomFlip):
    """:class:`mmcv.transforms.RandomFlip` that keeps ``view_box`` pointing at the view.

    Arguments, probabilities and the flip of ``img`` (and of any boxes, key
    points or maps) are mmcv's. A flip swaps the box corners along its axis,
    so a horizontally flipped view has ``x1 > x2`` (likewise ``y1 > y2``
    vertically, both for 'diagonal'); the box then still maps view
    coordinates to original ones linearly (see
    :func:`~mmdense.datasets.transforms.compose_view_box`).

    Required keys: ``img``. Modified keys: ``img``, ``seg_mask`` when present (DetCon),
    ``view_box`` (set to the whole image, ``(0, 0, 1, 1)``, when no earlier transform added one, so
    flipped and unflipped results have the same keys). Added keys: ``flip``,
    ``flip_direction``.

    Args:
        prob: Flip probability (float), or one per direction (list).
        direction: 'horizontal', 'vertical', 'diagonal' or a list of them.
        **kwargs: Other :class:`mmcv.transforms.RandomFlip` arguments.
    """

    def transform(self, results: dict) -> dict:
        """Flip with mmcv's semantics, then (if flipped) the box too.

        Args:
            results: Result dict with ``img``.

        Returns:
            dict: The updated ``results``.
        """
        if results.get('view_box') is None:
            results['view_box'] = np.array([0., 0., 1., 1.], np.float32)
        return super().transform(results)

    def _flip(self, results: dict) -> None:
        super()._flip(results)
        box = np.array(results['view_box'], np.float32)  # a copy: other views share the old one
        direction = results['flip_direction']
        if direction in ('horizontal', 'diagonal'):
            box[[0, 2]] = box[[2, 0]]
        if direction in ('vertical', 'diagonal'):
            box[[1, 3]] = box[[3, 1]]
        results['view_box'] = box
        if results.get('seg_mask') is not None:  # DetCon's mask of ids follows the image
            results['seg_mask'] = mmcv.imflip(results['seg_mask'], direction=direction)
