"""Cross-rank helpers for contrastive methods: key gathering and shuffle-BN."""
from typing import Tuple

import torch
import torch.distributed as dist


def _world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


@torch.no_grad()
def concat_all_gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from every rank along dim 0, in rank order.

    The result carries no gradient: it is only used for keys (targets) and
    permutation bookkeeping. Every rank must pass the same shape; uneven batches
    (``drop_last=False``) would silently misalign the shuffle, so they raise.

    Args:
        tensor: Local tensor ``(B, ...)``.

    Returns:
        Tensor ``(world_size * B, ...)``, identical on every rank.
    """
    world_size = _world_size()
    if world_size == 1:
        return tensor
    sizes = torch.tensor([tensor.shape[0]], device=tensor.device)
    all_sizes = [torch.empty_like(sizes) for _ in range(world_size)]
    dist.all_gather(all_sizes, sizes)
    if any(int(s) != tensor.shape[0] for s in all_sizes):
        raise RuntimeError(
            'concat_all_gather needs the same batch size on every rank, got '
            f'{[int(s) for s in all_sizes]}; set drop_last=True in train_dataloader.')
    gathered = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(gathered, tensor.contiguous())
    return torch.cat(gathered, dim=0)


@torch.no_grad()
def batch_shuffle_ddp(x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Shuffle a batch across all ranks (shuffle-BN of MoCo).

    Keys are encoded on a random redistribution of the global batch so that the
    BN statistics of the key encoder on each rank come from other samples than
    the query's, which stops the model from cheating through BN. Rank 0 draws
    the permutation and broadcasts it, so all ranks agree.

    Args:
        x: Local batch ``(B, ...)``.

    Returns:
        tuple: The local slice of the shuffled global batch ``(B, ...)`` and the
        global index ``(world_size * B,)`` that undoes the shuffle.
    """
    local_batch = x.shape[0]
    x_all = concat_all_gather(x)
    world_size = _world_size()
    perm = torch.randperm(x_all.shape[0], device=x.device)
    if world_size > 1:
        dist.broadcast(perm, src=0)
        rank = dist.get_rank()
    else:
        rank = 0
    idx_unshuffle = torch.argsort(perm)
    idx_this = perm.view(world_size, local_batch)[rank]
    return x_all[idx_this], idx_unshuffle


@torch.no_grad()
def batch_unshuffle_ddp(x: torch.Tensor, idx_unshuffle: torch.Tensor) -> torch.Tensor:
    """Undo :func:`batch_shuffle_ddp`: return this rank's samples in original order.

    Args:
        x: Local slice of encoder outputs for the shuffled batch ``(B, ...)``.
        idx_unshuffle: Index returned by :func:`batch_shuffle_ddp`.

    Returns:
        Tensor ``(B, ...)`` aligned with the rank's original batch.
    """
    local_batch = x.shape[0]
    x_all = concat_all_gather(x)
    world_size = _world_size()
    rank = dist.get_rank() if world_size > 1 else 0
    idx_this = idx_unshuffle.view(world_size, local_batch)[rank]
    return x_all[idx_this]
