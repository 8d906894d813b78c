"""The cross-rank losses of DetCon, VICRegL and SlotCon, run for real in 2 CPU processes on gloo.

Each rank holds half of a global batch. With equal halves, the mean of the ranks' losses must be
the loss of the whole batch on one process, and each rank's gradient on its own inputs (what DDP
then averages over ranks) twice that loss's gradient on them: so the gathered negatives (DetCon,
SlotCon) and the gathered, centred statistics with their gradient (VICRegL) are the global ones.
"""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmdense.models.losses import detcon_loss, slot_contrastive_loss, vicreg_loss

WORLD, HALF = 2, 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def global_inputs() -> dict:
    """The whole batch, float64, drawn the same in every process."""
    g = torch.Generator().manual_seed(0)
    n, masks, dim, protos = WORLD * HALF, 4, 8, 5

    def rand(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    # SlotCon scores: each prototype wins one pixel of every map, so all slots are present
    # in both views and the ranks select equal numbers of slots.
    pixels = torch.arange(9) % protos
    scores = torch.nn.functional.one_hot(pixels, protos).T.reshape(1, protos, 3, 3).double()
    return dict(
        detcon=[rand(n, masks, dim), rand(n, masks, dim), rand(n, masks, dim),
                rand(n, masks, dim), torch.randint(0, 3, (n, masks), generator=g),
                torch.randint(0, 3, (n, masks), generator=g)],
        vicreg=[rand(n, dim), rand(n, dim), rand(n, dim)],
        slotcon=[rand(n, protos, dim), rand(n, protos, dim),
                 scores.expand(n, -1, -1, -1) + 0.1 * rand(n, protos, 3, 3).abs(),
                 scores.expand(n, -1, -1, -1) + 0.1 * rand(n, protos, 3, 3).abs()])


def losses_and_grads(inputs: dict) -> dict:
    """Each loss and its gradient on the differentiable inputs (predictions, embeddings)."""
    out = {}
    pred0, pred1 = (x.clone().requires_grad_() for x in inputs['detcon'][:2])
    loss = detcon_loss(pred0, pred1, *inputs['detcon'][2:], temperature=0.1)
    loss.backward()
    out['detcon'] = (loss.detach(), [pred0.grad, pred1.grad])
    views = [x.clone().requires_grad_() for x in inputs['vicreg']]
    loss = sum(vicreg_loss(views).values())
    loss.backward()
    out['vicreg'] = (loss.detach(), [v.grad for v in views])
    query = inputs['slotcon'][0].clone().requires_grad_()
    loss = slot_contrastive_loss(query, *inputs['slotcon'][1:], temperature=0.2)
    loss.backward()
    out['slotcon'] = (loss.detach(), [query.grad])
    return out


def _worker(rank: int, port: int, out_dir: str) -> None:
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=WORLD)
    try:
        local = {name: [x[rank * HALF:(rank + 1) * HALF] for x in xs]
                 for name, xs in global_inputs().items()}
        torch.save(losses_and_grads(local), os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def test_cross_rank_losses_equal_the_whole_batch_on_one_process(tmp_path):
    mp.start_processes(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD,
                       start_method='spawn')
    ranks = [torch.load(tmp_path / f'rank{r}.pth') for r in range(WORLD)]
    whole = losses_and_grads(global_inputs())
    for name, (loss, grads) in whole.items():
        mean = sum(r[name][0] for r in ranks) / WORLD
        torch.testing.assert_close(mean, loss, rtol=1e-10, atol=1e-12, msg=name)
        for i, grad in enumerate(grads):
            for rank, r in enumerate(ranks):
                part = grad[rank * HALF:(rank + 1) * HALF]
                torch.testing.assert_close(r[name][1][i], WORLD * part, rtol=1e-9, atol=1e-12,
                                           msg=f'{name} input {i} rank {rank}')
    # Not a vacuous check: a rank alone (its half as the whole batch) gives other losses.
    alone = losses_and_grads({k: [x[:HALF] for x in xs] for k, xs in global_inputs().items()})
    for name in whole:
        assert not torch.allclose(alone[name][0], ranks[0][name][0]), name
