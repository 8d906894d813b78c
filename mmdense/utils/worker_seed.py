"""Dataloader worker seeding that differs per epoch yet is reproducible."""
import os
import random

import numpy as np
import torch

from mmdense.registry import FUNCTIONS

__all__ = ['seed_worker_from_torch_seed']


@FUNCTIONS.register_module()
def seed_worker_from_torch_seed(worker_id: int) -> None:
    """Seed a dataloader worker's ``random`` and ``numpy`` from its torch seed.

    MMEngine's default ``worker_init_fn`` seeds every worker with ``seed + rank *
    num_workers + worker_id``, the same in every epoch. Without persistent workers the
    workers restart each epoch, so numpy- and random-driven augmentations (all of
    mmcv's and ours) repeat the same crops and jitters every epoch. In a worker,
    ``torch.initial_seed()`` is the loader's base seed plus ``worker_id``; the base seed
    is drawn from the main process's torch generator each time an epoch's iterator is
    created, so it changes per epoch and per rank while staying fixed for a fixed
    ``randomness.seed``. The worker's torch generator is already seeded with it.
    Ranks share the base seed under MMEngine's default ``diff_rank_seed=False``, so
    the rank (``RANK``, set by every launcher and inherited by workers) is mixed in.

    Args:
        worker_id: Index of the worker (unused: the torch seed already includes it).
    """
    rank = int(os.environ.get('RANK', 0))
    # A large odd stride keeps rank r's seeds apart from rank r+1's worker seeds.
    seed = (torch.initial_seed() + rank * 1_000_003) % 2**32  # numpy takes 32-bit seeds
    np.random.seed(seed)
    random.seed(seed)
