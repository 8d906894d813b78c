"""InfoNCE over one positive and a set of negatives per query."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch.utils.checkpoint import checkpoint

from mmdense.registry import MODELS


@MODELS.register_module()
class ContrastiveHead(BaseModule):
    """InfoNCE loss ``-log(exp(pos/T) / (exp(pos/T) + sum exp(neg/T)))``.

    The logits are the concatenation ``[pos, neg] / T`` with the positive at
    index 0, so the loss is the cross-entropy against class 0.

    Args:
        temperature: ``T`` (0.2 for MoCo v2 and DenseCL).
        chunk_size: For :meth:`loss_against_queue`: compute the loss over this many
            queries at a time and recompute each chunk's logits during backward
            instead of keeping them (activation checkpointing). None (default)
            computes all logits at once. DenseCL's dense logits are
            ``N * S * S x (1 + queue_len)``: 3.3 GB per fp32 copy at batch 256, and
            autograd keeps several copies; tiling keeps one chunk's. Same loss and
            gradients up to float rounding, at the cost of a second matmul per chunk.
        init_cfg: MMEngine initialisation config (the head has no weights).
    """

    def __init__(self, temperature: float = 0.2, chunk_size: Optional[int] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        if temperature <= 0:
            raise ValueError(f'ContrastiveHead temperature must be positive, got {temperature}.')
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f'ContrastiveHead chunk_size must be a positive number of queries '
                             f'or None, got {chunk_size}.')
        self.temperature = temperature
        self.chunk_size = chunk_size

    def loss(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Mean InfoNCE over queries.

        Args:
            pos: Similarity of each query to its positive, ``(M, 1)``.
            neg: Similarity of each query to the negatives, ``(M, K)``.

        Returns:
            Scalar loss.
        """
        logits = torch.cat([pos, neg], dim=1) / self.temperature
        # Cross-entropy in at least fp32: under AMP, fp16 logits of 65k negatives
        # lose the positive's contribution to the log-sum-exp.
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, labels)

    def _summed_loss(self, query: torch.Tensor, pos: torch.Tensor,
                     negatives: torch.Tensor) -> torch.Tensor:
        """Sum (not mean) of the InfoNCE of ``query`` rows against ``negatives``."""
        logits = torch.cat([pos, query @ negatives.t()], dim=1) / self.temperature
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()  # as in :meth:`loss`
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, labels, reduction='sum')

    def loss_against_queue(self, query: torch.Tensor, pos: torch.Tensor,
                           negatives: torch.Tensor) -> torch.Tensor:
        """Mean InfoNCE with the negative similarities computed here, tiled if asked.

        Equal to ``loss(pos, query @ negatives.t())``; with ``chunk_size`` set, the
        ``(M, K)`` similarities and logits never exist whole (see the class docs).

        Args:
            query: Normalised queries, ``(M, D)``.
            pos: Similarity of each query to its positive, ``(M, 1)``.
            negatives: Normalised negatives, ``(K, D)``; not modified afterwards
                (pass a copy of a queue that is updated before backward).

        Returns:
            Scalar loss.
        """
        if self.chunk_size is None or query.shape[0] <= self.chunk_size:
            return self.loss(pos, query @ negatives.t())
        total = query.new_zeros((), dtype=torch.float32)
        for start in range(0, query.shape[0], self.chunk_size):
            end = start + self.chunk_size
            # Non-reentrant checkpointing keeps only the inputs and replays the chunk
            # (under the same autocast state) in backward.
            total = total + checkpoint(self._summed_loss, query[start:end], pos[start:end],
                                       negatives, use_reentrant=False)
        return total / query.shape[0]
