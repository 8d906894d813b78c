"""InfoNCE over one positive and a set of negatives per query."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdense.registry import MODELS
from ..losses.infonce import info_nce


@MODELS.register_module()
class ContrastiveHead(BaseModule):
    """InfoNCE loss ``-log(exp(pos/T) / (exp(pos/T) + sum exp(neg/T)))``.

    Two entry points with the same value: :meth:`loss` takes precomputed
    similarities and is plain autograd (the logits ``[pos, neg] / T`` with the
    positive at index 0, cross-entropy against class 0); :meth:`loss_against_queue`
    takes the queries and the negatives and goes through
    :func:`~mmdense.models.losses.info_nce`, which MoCo v2 and DenseCL use: half the
    time and none of the ``(M, K)`` memory kept for backward.

    Args:
        temperature: ``T`` (0.2 for MoCo v2 and DenseCL).
        chunk_size: For :meth:`loss_against_queue`: queries per chunk, which bounds
            the one transient ``(chunk, 1 + K)`` logits buffer (None, the default: all
            queries at once). DenseCL's dense logits are ``N * S * S x (1 + queue_len)``,
            3.3 GB in fp32 at batch 256; nothing of that size is kept for backward
            either way. Same loss and gradients for any value.
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

    def loss_against_queue(self, query: torch.Tensor, pos: torch.Tensor,
                           negatives: torch.Tensor) -> torch.Tensor:
        """Mean InfoNCE with the negative similarities computed here, without autograd's copies.

        Equal to ``loss(pos, query @ negatives.t())`` with the same gradients, through
        :func:`~mmdense.models.losses.info_nce`: the gradients are computed during the
        forward pass, a ``chunk_size`` of queries at a time, so no ``(M, K)`` logits
        are kept for backward and none are recomputed.

        Args:
            query: Normalised queries, ``(M, D)``.
            pos: Similarity of each query to its positive, ``(M, 1)``.
            negatives: Normalised negatives, ``(K, D)``; only read during this call,
                so a queue may be updated in place right after it.

        Returns:
            Scalar loss.
        """
        return info_nce(query, pos, negatives, self.temperature, self.chunk_size)
