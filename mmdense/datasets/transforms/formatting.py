"""Pack augmented views into the inputs and data sample that models receive."""
from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from mmdense.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackSelfSupInputs(BaseTransform):
    """Pack views as uint8 tensors plus a data sample with metadata and view boxes.

    Images stay uint8 and in loading (BGR) order: conversion to float, RGB and
    normalisation happen batched on the device in
    :class:`~mmdense.models.data_preprocessors.SelfSupDataPreprocessor`.

    Required keys: ``img`` (an (H, W, C) or (H, W) array, or a list of V of
    them). Optional keys: ``view_box`` (one (4,) box or a list of V), and the
    ``meta_keys`` (missing ones are skipped).

    Returns a dict with ``inputs``, a list of V contiguous uint8 (C, H, W)
    tensors (V=1 for a single image), and ``data_samples``, a
    :class:`~mmengine.structures.BaseDataElement` with the meta keys as
    metainfo and, when boxes are present, ``view_boxes``: float32 (V, 4); when masks
    (``seg_mask``) are present, ``seg_masks``: int32 (V, H, W).

    Args:
        meta_keys: Keys of ``results`` to copy into the data sample's metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = ('img_path', )) -> None:
        super().__init__()
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _to_tensor(img: np.ndarray) -> torch.Tensor:
        if img.ndim == 2:
            img = img[..., None]
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

    def transform(self, results: dict) -> dict:
        """Pack ``results``.

        Args:
            results: Result dict from the augmentation pipeline.

        Returns:
            dict: ``dict(inputs=list[Tensor], data_samples=BaseDataElement)``.
        """
        imgs = results['img']
        single = not isinstance(imgs, (list, tuple))
        inputs = [self._to_tensor(img) for img in ([imgs] if single else imgs)]
        data_sample = BaseDataElement(
            metainfo={key: results[key]
                      for key in self.meta_keys if key in results})
        boxes = results.get('view_box')
        if boxes is not None:
            boxes = np.stack([boxes] if single else boxes).astype(np.float32)
            data_sample.view_boxes = torch.from_numpy(boxes.reshape(len(inputs), 4))
        masks = results.get('seg_mask')
        if masks is not None:  # DetCon: each view's mask ids, aligned with its pixels
            masks = np.stack([masks] if single else masks).astype(np.int32)
            data_sample.seg_masks = torch.from_numpy(masks)
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
