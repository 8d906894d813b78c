"""InfoNCE against a bank of negatives, with its gradients computed in the forward pass.

MoCo's and DenseCL's losses compare every query with every negative of a queue
(65536 of them). Through plain autograd, ``cat([pos, q @ queue.T]) / T`` followed by
``cross_entropy`` writes the ``(M, K)`` logits several times (product, concatenation,
division, log-softmax; in backward a zero-filled one-hot gradient, the log-softmax and
division gradients) and keeps two of those copies alive until backward: 3.3 GB each
for DenseCL's dense loss at batch 256.

The loss is a scalar, so its backward only ever multiplies fixed gradients by one
incoming scalar. :func:`info_nce` therefore computes the loss *and* its gradients with
respect to the query, the positive similarity and (if they need one) the negatives in
one pass over the logits, a chunk of queries at a time, and keeps only those
gradients, ``(M, D)``, for backward. Nothing of size ``(M, K)`` outlives a chunk, no
matmul is recomputed (unlike activation checkpointing) and each chunk's logits are
written once and updated in place. PyTorch has no fused op for this (its
cross-entropy takes logits, which are the large tensor), hence this function.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from mmdense.registry import MODELS

__all__ = ['info_nce', 'info_nce_autograd', 'InfoNCELoss']


def _chunk_loss_and_grads(query: torch.Tensor, pos: torch.Tensor, negatives: torch.Tensor,
                          inv_t: float, need_grads: Tuple[bool, bool, bool]):
    """Summed loss of a chunk of queries and its (unscaled) gradients.

    Returns:
        tuple: scalar loss sum, then the gradients of that sum with respect to
        ``query`` ``(m, D)``, ``pos`` ``(m, 1)`` and ``negatives`` ``(K, D)`` (None
        where not needed); all in fp32, or fp64 for fp64 inputs.
    """
    sim = query @ negatives.t()  # (m, K); fp16/bf16 under autocast
    # The softmax runs in at least fp32 whatever the matmul's precision: in fp16 the
    # sum of 65k exponentials would lose the positive. An fp32/fp64 product is reused.
    dtype = torch.promote_types(sim.dtype, torch.float32)
    logits = sim.to(dtype).mul_(inv_t)
    del sim  # under autocast, the half-precision product: free it before the next buffers
    pos_logits = pos.to(dtype) * inv_t  # (m, 1)
    row_max = torch.maximum(logits.amax(dim=1, keepdim=True), pos_logits)
    probs = logits.sub_(row_max).exp_()  # exp(l - max), in place
    exp_pos = (pos_logits - row_max).exp_()
    norm = probs.sum(dim=1, keepdim=True).add_(exp_pos)  # sum of all exponentials
    loss = (row_max + norm.log() - pos_logits).sum()

    need_query, need_pos, need_negatives = need_grads
    grad_query = grad_pos = grad_negatives = None
    if need_pos:
        # d/d pos of logsumexp - pos/T: (softmax weight of the positive - 1) / T.
        grad_pos = (exp_pos / norm - 1.0) * inv_t
    if need_query or need_negatives:
        weights = probs.div_(norm).mul_(inv_t)  # d loss / d (query . negative)
        if need_query:
            grad_query = (weights.to(negatives.dtype) @ negatives).to(dtype)
        if need_negatives:
            grad_negatives = (weights.t().to(query.dtype) @ query).to(dtype)
    return loss, grad_query, grad_pos, grad_negatives


class _InfoNCE(torch.autograd.Function):
    """Mean InfoNCE whose backward scales gradients computed in forward."""

    @staticmethod
    def forward(ctx, query, pos, negatives, temperature, chunk_size):
        need_grads = tuple(ctx.needs_input_grad[:3])
        rows = query.shape[0]
        step = rows if chunk_size is None else chunk_size
        total = query.new_zeros((), dtype=torch.promote_types(query.dtype, torch.float32))
        grads_query, grads_pos, grad_negatives = [], [], None
        for start in range(0, rows, step):
            loss, g_query, g_pos, g_neg = _chunk_loss_and_grads(
                query[start:start + step], pos[start:start + step], negatives,
                1.0 / temperature, need_grads)
            total += loss
            grads_query.append(g_query)
            grads_pos.append(g_pos)
            if g_neg is not None:
                grad_negatives = g_neg if grad_negatives is None else grad_negatives.add_(g_neg)
        # Gradients of the mean, kept until backward: (M, D), (M, 1), (K, D) at most.
        ctx.grads = (
            torch.cat(grads_query).div_(rows) if need_grads[0] else None,
            torch.cat(grads_pos).div_(rows) if need_grads[1] else None,
            grad_negatives.div_(rows) if need_grads[2] else None,
        )
        ctx.dtypes = (query.dtype, pos.dtype, negatives.dtype)
        return total / rows

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        # Not in place: a second backward (retain_graph=True) gets the same gradients.
        grads = tuple(None if g is None else (g * grad_output).to(dtype)
                      for g, dtype in zip(ctx.grads, ctx.dtypes))
        return grads + (None, None)


def info_nce(query: torch.Tensor, pos: torch.Tensor, negatives: torch.Tensor,
             temperature: float, chunk_size: Optional[int] = None) -> torch.Tensor:
    """Mean over queries of ``-log(exp(pos/T) / (exp(pos/T) + sum_k exp(q . n_k / T)))``.

    Equal, up to float rounding, to ``cross_entropy(cat([pos, query @ negatives.T]) / T,
    zeros)``, with the same gradients, but computed as described in the module docs.
    It supports one backward per forward graph (more with ``retain_graph``), not
    double backward.

    Args:
        query: Normalised queries ``(M, D)``.
        pos: Similarity of each query to its positive ``(M, 1)``.
        negatives: Normalised negatives ``(K, D)``. Only read during this call, so a
            queue may be updated in place right after it, before backward.
        temperature: ``T``.
        chunk_size: Queries per chunk (bounds the transient ``(chunk, K)`` buffer);
            None: all at once.

    Returns:
        Scalar loss, fp32 (fp64 for fp64 inputs).
    """
    if query.dim() != 2 or pos.shape != (query.shape[0], 1) or negatives.dim() != 2 \
            or negatives.shape[1] != query.shape[1]:
        raise ValueError(f'info_nce expects query (M, D), pos (M, 1) and negatives (K, D); got '
                         f'{tuple(query.shape)}, {tuple(pos.shape)} and {tuple(negatives.shape)}.')
    if query.shape[0] == 0:
        raise ValueError('info_nce got no queries (M = 0): the mean loss is undefined.')
    return _InfoNCE.apply(query, pos, negatives, temperature, chunk_size)


def info_nce_autograd(pos: torch.Tensor, neg: torch.Tensor, temperature: float) -> torch.Tensor:
    """The same loss the plain way: cross-entropy of ``[pos, neg] / T`` against class 0.

    The formulation of the MoCo/DenseCL reference code, kept as the reference that
    :func:`info_nce` is tested and benchmarked against.

    Args:
        pos: Similarity of each query to its positive ``(M, 1)``.
        neg: Similarity of each query to the negatives ``(M, K)``.
        temperature: ``T``.

    Returns:
        Scalar loss, computed in at least fp32.
    """
    logits = torch.cat([pos, neg], dim=1) / temperature
    # Cross-entropy in at least fp32: under AMP, fp16 logits of 65k negatives lose the
    # positive's contribution to the log-sum-exp.
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, labels)


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """Module form of :func:`info_nce`: the queue InfoNCE of MoCo v2 and DenseCL.

    Args:
        temperature: ``T`` (0.2 for MoCo v2 and DenseCL).
        chunk_size: Queries per chunk, which bounds the one transient ``(chunk, 1 + K)``
            logits buffer (None: all queries at once). DenseCL's dense logits are
            ``N * S * S x (1 + queue_len)``, 3.3 GB in fp32 at batch 256; nothing of that
            size is kept for backward either way. Same loss and gradients for any value.
    """

    def __init__(self, temperature: float = 0.2, chunk_size: Optional[int] = None) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'InfoNCELoss temperature must be positive, got {temperature}.')
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f'InfoNCELoss chunk_size must be a positive number of queries '
                             f'or None, got {chunk_size}.')
        self.temperature = temperature
        self.chunk_size = chunk_size

    def forward(self, query: torch.Tensor, pos: torch.Tensor, negatives: torch.Tensor
                ) -> torch.Tensor:
        """Mean InfoNCE of ``query`` against its positive and ``negatives``.

        Args:
            query: Normalised queries ``(M, D)``.
            pos: Similarity of each query to its positive ``(M, 1)``.
            negatives: Normalised negatives ``(K, D)``; only read during this call, so a
                queue may be updated in place right after it.

        Returns:
            Scalar loss.
        """
        return info_nce(query, pos, negatives, self.temperature, self.chunk_size)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, chunk_size={self.chunk_size}'
