"""Time and memory of DenseCL's dense InfoNCE: plain autograd against :func:`info_nce`."""
import time
from typing import Dict, Optional

import torch
import torch.nn.functional as F

from mmdense.models.losses import info_nce, info_nce_autograd
from .held_for_backward import held_for_backward

__all__ = ['measure_loss', 'benchmark_dense_loss']


def measure_loss(loss_fn, query: torch.Tensor, pos: torch.Tensor, queue: torch.Tensor) -> dict:
    """One forward + backward: seconds, bytes held for backward, CUDA peak (or None)."""
    query, pos = query.detach().requires_grad_(), pos.detach().requires_grad_()
    cuda = query.is_cuda
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    start = time.perf_counter()
    loss = loss_fn(query, pos, queue)
    held = held_for_backward(loss)  # a walk over a few graph nodes: negligible time
    loss.backward()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() - base if cuda else None
    return dict(seconds=seconds, held=held, peak=peak, loss=loss.item())


def benchmark_dense_loss(batch_size: int = 32, cells: int = 49, queue_len: int = 65536,
                         dim: int = 128, chunk_size: Optional[int] = 196, repeats: int = 3,
                         device: str = 'cpu', temperature: float = 0.2) -> Dict[str, dict]:
    """Interleave the plain loss, :func:`info_nce` and chunked :func:`info_nce`.

    Args:
        batch_size: Images; the queries are ``batch_size * cells`` unit vectors.
        cells: ``S * S`` query cells per image.
        queue_len: Negatives.
        dim: Embedding size.
        chunk_size: Queries per chunk of the third variant.
        repeats: Interleaved repeats; the last one is returned.
        device: Torch device.
        temperature: ``T``.

    Returns:
        dict: Variant name -> :func:`measure_loss` result.
    """
    generator = torch.Generator().manual_seed(0)
    rows = batch_size * cells
    query = F.normalize(torch.randn(rows, dim, generator=generator), dim=1).to(device)
    pos = torch.rand(rows, 1, generator=generator).to(device)
    queue = F.normalize(torch.randn(queue_len, dim, generator=generator), dim=1).to(device)
    variants = {
        'plain autograd': lambda q, p, n: info_nce_autograd(p, q @ n.t(), temperature),
        'info_nce': lambda q, p, n: info_nce(q, p, n, temperature),
        f'info_nce chunk={chunk_size}': lambda q, p, n: info_nce(q, p, n, temperature, chunk_size),
    }
    results = {}
    for _ in range(repeats):
        for name, loss_fn in variants.items():
            results[name] = measure_loss(loss_fn, query, pos, queue)
    return results
