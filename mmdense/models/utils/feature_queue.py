"""A ring buffer of L2-normalised key features: the negatives of MoCo-style losses."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .distributed import concat_all_gather


class FeatureQueue(nn.Module):
    """Fixed-size FIFO of feature vectors kept as buffers (saved and resumed).

    Keys from all ranks are gathered before being written, so every rank holds the
    same queue. The write position stays on the device and is advanced with tensor
    ops, so enqueueing never synchronises the host with the device.

    Args:
        length: Number of stored vectors ``K``.
        dim: Feature dimension ``C``.
    """

    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        if length <= 0 or dim <= 0:
            raise ValueError(f'FeatureQueue needs positive length and dim, got {length}, {dim}.')
        self.length = length
        self.dim = dim
        # Random unit vectors as in the MoCo reference: the first iterations see
        # uninformative negatives instead of zeros (which would make logits tie).
        self.register_buffer('feats', F.normalize(torch.randn(length, dim), dim=1))
        self.register_buffer('ptr', torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Gather ``keys (B, C)`` from all ranks and overwrite the oldest entries.

        Wraps around the end of the buffer when ``world_size * B`` does not divide
        ``K``.
        """
        keys = concat_all_gather(keys.detach())
        num = keys.shape[0]
        if num > self.length:
            raise ValueError(f'Cannot enqueue {num} keys into a queue of length {self.length}; '
                             'make queue_len at least the global batch size.')
        index = (self.ptr + torch.arange(num, device=keys.device)) % self.length
        self.feats.index_copy_(0, index, keys.to(self.feats.dtype))
        self.ptr.add_(num).remainder_(self.length)

    def extra_repr(self) -> str:
        return f'length={self.length}, dim={self.dim}'
