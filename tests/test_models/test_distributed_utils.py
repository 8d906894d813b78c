"""Shuffle-BN and key gathering, run for real in 2 CPU processes on gloo."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmdense.models.utils import (FeatureQueue, batch_shuffle_ddp, batch_unshuffle_ddp,
                                  concat_all_gather)

WORLD = 2
BATCH = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out_dir: str) -> None:
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=WORLD)
    try:
        torch.manual_seed(100 + rank)  # ranks draw different local randomness on purpose
        # Sample ids encode (rank, position) so order can be checked after the round trip.
        x = torch.arange(BATCH, dtype=torch.float32) + 100 * rank
        shuffled, idx_unshuffle = batch_shuffle_ddp(x)
        encoded = shuffled * 2 + 1  # any per-sample function stands in for the key encoder
        restored = batch_unshuffle_ddp(encoded, idx_unshuffle)

        queue = FeatureQueue(length=10, dim=1)
        keys = (torch.arange(BATCH, dtype=torch.float32) + 10 * rank).unsqueeze(1)
        queue.enqueue(keys)
        queue.enqueue(keys + 50)
        torch.save(
            dict(x=x, shuffled=shuffled, restored=restored, gathered=concat_all_gather(x),
                 queue=queue.feats.clone(), ptr=queue.ptr.clone()),
            os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def test_shuffle_unshuffle_and_enqueue_across_two_gloo_ranks(tmp_path):
    mp.start_processes(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD,
                       start_method='spawn')
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pth') for r in range(WORLD))
    global_batch = torch.cat([r0['x'], r1['x']])
    # Gather concatenates in rank order and agrees on both ranks.
    assert torch.equal(r0['gathered'], global_batch) and torch.equal(r1['gathered'], global_batch)
    # The shuffled slices partition the global batch (one permutation shared by the ranks)...
    union = torch.cat([r0['shuffled'], r1['shuffled']])
    assert torch.equal(union.sort().values, global_batch.sort().values)
    # ...and samples really move between ranks (fixed seeds: deterministic).
    assert not torch.equal(r0['shuffled'].sort().values, r0['x'])
    # Unshuffling returns each rank's own samples, in its original order.
    for r in (r0, r1):
        assert torch.equal(r['restored'], r['x'] * 2 + 1)
    # Both ranks enqueue the same gathered keys (rank order); 2 x 8 keys into 10 slots
    # wrap around: the second batch fills slots 8, 9, then 0..5.
    assert torch.equal(r0['queue'], r1['queue'])
    expected = torch.tensor([52., 53., 60., 61., 62., 63., 12., 13., 50., 51.]).unsqueeze(1)
    assert torch.equal(r0['queue'], expected)
    assert r0['ptr'].item() == r1['ptr'].item() == 6
