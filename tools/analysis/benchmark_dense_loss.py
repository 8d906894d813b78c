"""Time and memory of DenseCL's dense InfoNCE: plain autograd against mmdense's info_nce.

Usage::

    python tools/analysis/benchmark_dense_loss.py [--batch-size 32] [--cells 49]
        [--queue-len 65536] [--dim 128] [--chunk-size 196] [--repeats 3] [--device cpu]

Times forward + backward on random unit vectors, interleaved, of (a) the plain
computation, ``cross_entropy(cat([pos, q @ queue.T]) / T)`` through autograd (what MoCo's
and DenseCL's reference code do, :func:`mmdense.models.losses.info_nce_autograd`), and
:func:`mmdense.models.losses.info_nce` (gradients computed in forward) (b) all queries at
once and (c) with ``--chunk-size``. Reports the bytes each graph holds between forward and
backward (:func:`mmdense.analysis.held_for_backward.held_for_backward`), on CUDA each one's
peak memory, the last repeat's figures and the ratios to (a). The logic lives in
:mod:`mmdense.analysis.dense_loss_benchmark`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdense.analysis.dense_loss_benchmark import benchmark_dense_loss  # noqa: E402


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
    results = benchmark_dense_loss(args.batch_size, args.cells, args.queue_len, args.dim,
                                   args.chunk_size, args.repeats, args.device)
    rows = args.batch_size * args.cells
    cuda = args.device.startswith('cuda')
    print(f'dense InfoNCE: {rows} query cells x {args.queue_len} negatives, dim {args.dim}, '
          f'{args.device}, forward + backward, last of {args.repeats} interleaved repeats')
    print('| variant | time (ms) | held for backward (MiB) |'
          + (' CUDA peak (MiB) |' if cuda else '') + ' time / plain | held / plain |')
    print('|---|---|---|' + ('---|' if cuda else '') + '---|---|')
    plain = results['plain autograd']
    for name, r in results.items():
        peak = '' if r['peak'] is None else f" {r['peak'] / 2**20:.0f} |"
        print(f"| {name} | {r['seconds'] * 1000:.0f} | {r['held'] / 2**20:.1f} |{peak} "
              f"{r['seconds'] / plain['seconds']:.2f} | {r['held'] / plain['held']:.4f} |")
    print('losses: ' + ', '.join(f"{r['loss']:.6f}" for r in results.values()))
    return results


if __name__ == '__main__':
    main()
