"""Compare a state dict with the key set and shapes a downstream model expects."""
from typing import Dict, List, Sequence

import torch


def state_mismatches(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Size],
                     optional: Sequence[str] = ()) -> List[str]:
    """The missing, unexpected and mis-shaped keys of ``state``, one phrase per kind.

    Args:
        state: The candidate state dict.
        expected: Key -> shape of the model it must load into.
        optional: Key suffixes that may be missing (e.g. BN's ``num_batches_tracked``).

    Returns:
        list[str]: e.g. ``['missing keys: a, b', 'wrong shapes: c: (1,) != expected (2,)']``,
        each list cut to 10 names; empty when ``state`` matches.
    """
    missing = sorted(k for k in expected
                     if k not in state and not k.endswith(tuple(optional)))
    unexpected = sorted(k for k in state if k not in expected)
    wrong = sorted(f'{k}: {tuple(state[k].shape)} != expected {tuple(expected[k])}'
                   for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k]))

    def _fmt(items: List[str]) -> str:
        return ', '.join(items[:10]) + (f' ... ({len(items)} in all)' if len(items) > 10 else '')

    return [f'{name}: {_fmt(items)}' for name, items in (
        ('missing keys', missing), ('unexpected keys', unexpected), ('wrong shapes', wrong))
        if items]
