"""Batch, normalise and move multi-view self-supervised inputs to the device."""
from collections.abc import Sequence

import torch
from mmengine.model import ImgDataPreprocessor

from mmdense.registry import MODELS
from . import photometric_augment  # noqa: F401 (registers the augmentation and its ops)


@MODELS.register_module()
class SelfSupDataPreprocessor(ImgDataPreprocessor):
    """:class:`mmengine.model.ImgDataPreprocessor` for a list of views per sample.

    Accepts ``data['inputs']`` in any of these forms (V views, N samples):

    - from :func:`mmengine.dataset.pseudo_collate` of
      :class:`~mmdense.datasets.transforms.PackSelfSupInputs` outputs: a list
      over views of lists over the batch of uint8 (3, H, W) tensors;
    - a list over views of (N, 3, H, W) tensors (``default_collate``);
    - a single view: a list over the batch of (3, H, W) tensors, or an
      (N, 3, H, W) tensor.

    Tensors are moved to the device while still uint8 (a quarter of the
    float32 bytes), stacked, then converted to float, BGR -> RGB and
    normalised; views whose images differ in size are padded as
    :class:`~mmengine.model.ImgDataPreprocessor` pads.

    With ``photometric`` (the ``_device-aug`` dataset configs), training batches also get the
    photometric half of the view pipelines here, batched on the device, before
    normalisation: colour jitter, grayscale, blur, solarisation with per-sample parameters
    (:class:`BatchedPhotometricAugment`). Geometry (crop, flip and their view boxes) stays in
    the workers. Evaluation batches (``training=False``) are not augmented.

    Args:
        mean: Per-channel mean, RGB order when ``to_rgb``, 0-255 scale.
        std: Per-channel standard deviation, same order and scale.
        to_rgb: Convert loaded BGR images to RGB.
        pad_size_divisor: Pad each view's batch to a multiple of this size.
        pad_value: Value of padded pixels.
        non_blocking: Copy to the device asynchronously.
        photometric: Config of a :class:`BatchedPhotometricAugment` (``type`` optional), or
            None for none.
        channels_last: Hand the views on in the channels-last memory format, and have the
            algorithm keep its weights in it (:meth:`BaseSelfSupervisor.init_weights`). The
            convolutions and BatchNorms of a ResNet then skip their layout reorders: on
            CPU (oneDNN) a ResNet-50 step is about 15-20% faster, on GPUs it is what lets
            the tensor cores run under autocast. Values are the same up to float rounding
            (summation order), not bit-identical to the default layout.
    """

    def __init__(self,
                 mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None,
                 to_rgb: bool = True,
                 pad_size_divisor: int = 1,
                 pad_value: float = 0,
                 non_blocking: bool = False,
                 photometric: dict | None = None,
                 channels_last: bool = False) -> None:
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=to_rgb,
            non_blocking=non_blocking)
        self.channels_last = channels_last
        self.photometric = None
        if photometric is not None:
            self.photometric = MODELS.build(dict(type='BatchedPhotometricAugment', **photometric))

    def forward(self, data: dict, training: bool = False) -> dict:
        """Turn collated views into normalised float batches on the device.

        Args:
            data: ``dict(inputs=..., data_samples=...)`` from the data loader.
            training: Apply ``photometric`` (training batches only).

        Returns:
            dict: ``inputs``, a list of V float32 (N, 3, H, W) tensors, and
            ``data_samples`` on the device (view boxes and metadata untouched).
        """
        data = self.cast_data(data)
        views = self._split_views(data['inputs'])
        if training and self.photometric is not None:
            views = self._augment(views)
        views = [self._normalize_view(view) for view in views]
        if self.channels_last:
            views = [view.contiguous(memory_format=torch.channels_last) for view in views]
        return dict(inputs=views, data_samples=data.get('data_samples'))

    @staticmethod
    def _split_views(inputs: torch.Tensor | Sequence) -> list:
        """Split collated inputs into one batch (tensor or list of tensors) per view."""
        if isinstance(inputs, torch.Tensor):
            if inputs.dim() != 4:
                raise ValueError(f'a tensor input must be (N, C, H, W), got {tuple(inputs.shape)}')
            return [inputs]
        if isinstance(inputs, (list, tuple)) and len(inputs) > 0:
            first = inputs[0]
            if isinstance(first, torch.Tensor) and first.dim() == 3:
                return [inputs]  # one view: a list over the batch
            if isinstance(first, torch.Tensor) and first.dim() == 4:
                return list(inputs)
            if isinstance(first, (list, tuple)):
                return list(inputs)
        raise TypeError('inputs must be a list over views of lists of (C, H, W) tensors or '
                        'of (N, C, H, W) tensors, a list of (C, H, W) tensors, or an '
                        f'(N, C, H, W) tensor; got {type(inputs)}')

    def _augment(self, views: list) -> list[torch.Tensor]:
        """Photometric augmentation of uint8 views, returned as float images in input order."""
        batches = []
        for view in views:
            if not isinstance(view, torch.Tensor):
                if len({tuple(t.shape) for t in view}) != 1:
                    raise ValueError('device photometric augmentation needs the images of a view '
                                     'to have one size (the worker pipeline crops to one)')
                view = torch.stack(list(view))
            if view.shape[1] != 3:
                raise ValueError('photometric augmentation needs 3-channel images, got '
                                 f'{tuple(view.shape)}')
            batches.append(view)
        # The ops work on RGB; the images keep the loading order around them, so that
        # normalisation below is the same as without augmentation.
        order = [2, 1, 0] if self._channel_conversion else [0, 1, 2]
        augmented = self.photometric([view[:, order].float() for view in batches])
        return [view[:, order] for view in augmented]

    def _normalize_view(self, view: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """Stack, convert and normalise one view's batch, (N, 3, H, W) float32."""
        if not isinstance(view, torch.Tensor) and len({tuple(t.shape) for t in view}) == 1:
            # One uint8 stack and one normalisation instead of one per image.
            view = torch.stack(list(view))
        return super().forward(dict(inputs=view))['inputs']
