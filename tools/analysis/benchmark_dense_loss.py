"""Memory held for backward and time of DenseCL's dense InfoNCE, untiled vs tiled.

Usage::

    python tools/analysis/benchmark_dense_loss.py [--batch-size 32] [--cells 49]
        [--queue-len 65536] [--dim 128] [--chunk-size 196] [--repeats 3] [--device cpu]

Times forward + backward of ``ContrastiveHead.loss_against_queue`` on random unit
vectors with and without ``chunk_size``, interleaved, and counts the bytes autograd holds
between forward and backward (``torch.autograd.graph.saved_tensors_hooks``, each storage
once). On CUDA it also reports the peak memory of each. Prints the last repeat's figures
and the tiled/untiled ratios.
"""
import argparse
import os.path as osp
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.models.heads import ContrastiveHead  # noqa: E402


def measure(head: ContrastiveHead, query: torch.Tensor, pos: torch.Tensor,
            queue: torch.Tensor) -> dict:
    """One forward + backward: seconds, bytes held for backward, CUDA peak (or None)."""
    held = {}

    def pack(tensor):
        held[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    query, pos = query.detach().requires_grad_(), pos.detach().requires_grad_()
    cuda = query.is_cuda
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    start = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = head.loss_against_queue(query, pos, queue)
    kept = sum(held.values())
    loss.backward()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() - base if cuda else None
    return dict(seconds=seconds, held=kept, peak=peak, loss=loss.item())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description='Untiled vs tiled dense InfoNCE.')
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
    heads = {'untiled': ContrastiveHead(0.2),
             f'chunk_size={args.chunk_size}': ContrastiveHead(0.2, args.chunk_size)}
    results = {}
    for _ in range(args.repeats):  # interleaved; the last repeat is reported
        for name, head in heads.items():
            results[name] = measure(head, query, pos, queue)
    print(f'dense InfoNCE: {rows} query cells x {args.queue_len} negatives, dim {args.dim}, '
          f'{args.device}')
    for name, r in results.items():
        peak = '' if r['peak'] is None else f", CUDA peak {r['peak'] / 2**20:.0f} MiB"
        print(f"{name:>20}: {r['seconds'] * 1000:.0f} ms forward+backward, "
              f"held for backward {r['held'] / 2**20:.0f} MiB{peak}, loss {r['loss']:.6f}")
    plain, tiled = results.values()
    print(f"tiled / untiled: time {tiled['seconds'] / plain['seconds']:.2f}, "
          f"held memory {tiled['held'] / plain['held']:.3f}")
    return results


if __name__ == '__main__':
    main()
