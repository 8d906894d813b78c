"""The longest negative queue a dataset supports: ``queue_len <= num_images - global_batch``.

A MoCo-style queue holds the keys of the last ``queue_len`` training images. Once it holds
more keys than there are *other* images than the current batch's, some of its entries are
keys of the current batch's own images from an earlier epoch, i.e. stale copies of the
positives, counted as negatives: the loss then pushes each image away from itself. MoCo's
65536 is sized for ImageNet's 1.28 M images; on a dataset of a few hundred images the
default is this fault (mmpretrain #1541 reports the loss rising on 170 images). LightlyTrain
sizes its memory bank to the dataset for the same reason. We refuse instead of resizing:
the queue length is part of the method's definition and of the checkpoint's shapes, so the
user chooses the value, and the message gives the largest one that fits.
"""
from typing import List

from torch import nn

from mmdense.utils import ConfigError
from .feature_queue import FeatureQueue

__all__ = ['max_queue_len', 'check_queue_length']


def max_queue_len(num_images: int, global_batch: int) -> int:
    """Largest queue length that never holds a key of the current batch's images.

    A multiple of the global batch when possible (the queue then wraps around in whole
    batches, as the authors' configs do).
    """
    room = num_images - global_batch
    if room < global_batch:
        return max(room, 0)
    return room - room % global_batch


def check_queue_length(model: nn.Module, num_images: int, global_batch: int) -> List[int]:
    """Refuse a model whose queues are longer than :func:`max_queue_len` allows.

    Args:
        model: The (unwrapped) algorithm.
        num_images: Images in the training set (one epoch).
        global_batch: Images per iteration over all processes.

    Returns:
        list[int]: The lengths of the model's queues (empty for queue-free methods).

    Raises:
        ConfigError: A queue is longer than ``num_images - global_batch``.
    """
    lengths = sorted({m.length for m in model.modules() if isinstance(m, FeatureQueue)})
    limit = max_queue_len(num_images, global_batch)
    for length in lengths:
        if length > num_images - global_batch:
            fix = (f'set model.queue_len={limit} (the largest multiple of the batch that fits) '
                   'or less' if limit >= global_batch else
                   'use more images or a smaller batch: the queue must hold at least one '
                   'global batch')
            raise ConfigError(
                f'model.queue_len={length} is longer than the {num_images} training images '
                f'allow with a global batch of {global_batch}: the queue would hold keys of '
                "the current batch's own images (their positives, from an earlier epoch) as "
                f'negatives. Rule: queue_len <= num_images - global batch = '
                f'{num_images - global_batch}; {fix}.')
    return lengths
