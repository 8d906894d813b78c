"""Time and memory of DenseCL's dense InfoNCE: plain autograd against mmdense's info_nce.

Usage::

    python tools/analysis/benchmark_dense_loss.py [--batch-size 32] [--cells 49]
        [--queue-len 65536] [--dim 128] [--chunk-size 196] [--repeats 3] [--device cpu]

Times forward + backward on random unit vectors, interleaved, of
(a) the plain computation, ``cross_entropy(cat([pos, q @ queue.T]) / T)`` through
autograd (what MoCo's and DenseCL's reference code do), and
``ContrastiveHead.loss_against_queue`` (:func:`mmdense.models.losses.info_nce`, gradients
computed in forward) (b) all queries at once and (c) with ``--chunk-size``. Reports the
bytes each graph holds between forward and backward
(:func:`mmdense.utils.held_for_backward`), on CUDA each one's peak memory, the last
repeat's figures and the ratios to (a).
"""
import argparse
import os.path as osp
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.models.heads import ContrastiveHead  # noqa: E402
from mmdense.utils import held_for_backward  # noqa: E402


def measure(loss_fn, query: torch.Tensor, pos: torch.Tensor, queue: torch.Tensor) -> dict:
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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description='Dense InfoNCE: plain autograd vs info_nce.')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--cells', type=int, default=49, help='S*S query cells per image')
    parser.add_argument('--queue-len', type=int, default=65536)
    parser.add_argument('--dim', type=int, default=128)
    parser.add_argument('--chunk-size', type=int, default=196)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)

    generator = torch.Generator().manual_seed(0)
    rows = args.batch_size * args.cells
    query = F.normalize(torch.randn(rows, args.dim, generator=generator), dim=1).to(args.device)
    pos = torch.rand(rows, 1, generator=generator).to(args.device)
    queue = F.normalize(torch.randn(args.queue_len, args.dim, generator=generator),
                        dim=1).to(args.device)
    plain_head = ContrastiveHead(0.2)
    variants = {
        'plain autograd': lambda q, p, n: plain_head.loss(p, q @ n.t()),
        'info_nce': ContrastiveHead(0.2).loss_against_queue,
        f'info_nce chunk={args.chunk_size}':
            ContrastiveHead(0.2, args.chunk_size).loss_against_queue,
    }
    results = {}
    for _ in range(args.repeats):  # interleaved; the last repeat is reported
        for name, loss_fn in variants.items():
            results[name] = measure(loss_fn, query, pos, queue)
    print(f'dense InfoNCE: {rows} query cells x {args.queue_len} negatives, dim {args.dim}, '
          f'{args.device}, forward + backward, last of {args.repeats} interleaved repeats')
    print('| variant | time (ms) | held for backward (MiB) |'
          + (' CUDA peak (MiB) |' if query.is_cuda else '') + ' time / plain | held / plain |')
    print('|---|---|---|' + ('---|' if query.is_cuda else '') + '---|---|')
    plain = results['plain autograd']
    for name, r in results.items():
        peak = '' if r['peak'] is None else f" {r['peak'] / 2**20:.0f} |"
        print(f"| {name} | {r['seconds'] * 1000:.0f} | {r['held'] / 2**20:.1f} |{peak} "
              f"{r['seconds'] / plain['seconds']:.2f} | {r['held'] / plain['held']:.4f} |")
    print('losses: ' + ', '.join(f"{r['loss']:.6f}" for r in results.values()))
    return results


if __name__ == '__main__':
    main()
