"""Make MMEngine Runner checkpoints loadable under ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses every
global outside a small allow-list. A checkpoint written by MMEngine 0.10.7's
``Runner.save_checkpoint`` holds more than tensors:

* ``message_hub['log_scalars']`` maps names to ``mmengine.logging.HistoryBuffer``
  objects whose histories are numpy arrays, and whose pickled state carries the
  buffer's statistic methods (``HistoryBuffer.min`` ...), which pickle reaches with
  ``getattr(HistoryBuffer, 'min')`` because they are attributes of a class;
* ``message_hub['runtime_info']`` holds numpy scalars (``eta`` is a ``np.float64``).

So ``Runner.resume`` and ``mmengine.runner.load_checkpoint`` fail on our own
checkpoints. :func:`allow_runner_checkpoint_globals` registers exactly the globals
such a checkpoint needs, found by saving a Runner checkpoint and listing its
globals with ``torch.serialization.get_unsafe_globals_in_checkpoint``. It does not
turn ``weights_only`` off: files from elsewhere are still checked against the list.
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

__all__ = [
    'allow_runner_checkpoint_globals', 'runner_checkpoint_safe_globals', 'load_checkpoint_file',
    'check_checkpoint_file', 'CheckpointFileError'
]


class CheckpointFileError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and what to do."""


# The statistics MMEngine registers on every HistoryBuffer; they are the only
# attributes a Runner checkpoint fetches with ``getattr``.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

# Unpickling a dtype ends in ``dtype.__setstate__``, which torch only calls for
# allow-listed types, and under numpy >= 1.25 each dtype has its own class
# (``numpy.dtypes.Float64DType``). MMEngine's own values give float64 and int64
# (histories, counts, ``eta``); hooks may log other numeric scalars, so every fixed
# size bool/int/float dtype is allowed. Object, string and void dtypes are not.
_NUMERIC_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32',
                   'uint64', 'float16', 'float32', 'float64')


def _history_buffer_statistic(owner: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    Pickle stores the function ``HistoryBuffer.min`` as ``getattr(HistoryBuffer,
    'min')``. Allowing the real ``getattr`` would let a crafted file walk from any
    allowed object to arbitrary attributes (``__globals__``, ``__builtins__``), so the
    checkpoint's ``builtins.getattr`` resolves to this function, which answers only
    the lookups an MMEngine checkpoint makes.

    Args:
        owner: The object the attribute is read from; must be ``HistoryBuffer``.
        name: The attribute name; must be one of MMEngine's default statistics.

    Returns:
        Callable: The unbound statistic method, e.g. ``HistoryBuffer.mean``.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Refusing getattr({owner!r}, {name!r}) while loading a checkpoint: '
        'mmdense only allows the HistoryBuffer statistics '
        f'{_HISTORY_BUFFER_STATISTICS}.')


def runner_checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """List the globals an MMEngine Runner checkpoint needs beyond torch's defaults.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``: objects, or
        ``(object, 'module.qualname')`` pairs where the name stored in the file
        differs from the object's own.
    """
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    safe: List[Union[Callable, Tuple[Callable, str]]] = [
        # numpy arrays (HistoryBuffer histories) and scalars (runtime_info['eta']).
        np.ndarray,
        np.dtype,
        *sorted({type(np.dtype(name)) for name in _NUMERIC_DTYPES} - {np.dtype}, key=str),
        (multiarray._reconstruct, 'numpy._core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy._core.multiarray.scalar'),
        # Files written under numpy < 2 name the same functions ``numpy.core.*``.
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        # message_hub['log_scalars'] values; restored through its __setstate__.
        HistoryBuffer,
        (_history_buffer_statistic, 'builtins.getattr'),
    ]
    return safe


def allow_runner_checkpoint_globals() -> None:
    """Let ``torch.load`` (``weights_only=True``) read MMEngine Runner checkpoints.

    Registers :func:`runner_checkpoint_safe_globals` with
    ``torch.serialization.add_safe_globals`` for this process. Calling it again is
    harmless: torch keeps the allow-list as a set and the entries are the same
    objects each time.
    """
    torch.serialization.add_safe_globals(runner_checkpoint_safe_globals())


def check_checkpoint_file(path: str, what: str = 'checkpoint') -> None:
    """Refuse a path that is no complete ``torch.save`` file, before anything loads it.

    Args:
        path: The file.
        what: How the caller names it in the message (``'--resume'``, ``'IN'``...).

    Raises:
        CheckpointFileError: Missing, a folder, or not a whole zip-format torch file (cut
            short by an interrupted save or copy, or not a checkpoint at all).
    """
    from .resume_checkpoint import is_complete_checkpoint
    if not osp.exists(path):
        raise CheckpointFileError(f'{what} {path!r}: no such file. Pass a checkpoint that '
                                  'exists (tools/train.py writes work_dir/epoch_N.pth).')
    if osp.isdir(path):
        raise CheckpointFileError(f'{what} {path!r} is a folder; pass a .pth file in it.')
    if not is_complete_checkpoint(path):
        raise CheckpointFileError(
            f'{what} {path!r} is not a complete checkpoint: it has no zip directory at its '
            'end, so it was cut short (an interrupted save or copy) or is not a torch.save '
            'file at all. Use an earlier checkpoint of the run (epoch_N.pth) or copy it again.')


def load_checkpoint_file(path: str, extra_safe_globals: Sequence[Any] = (),
                         what: str = 'checkpoint', mmap: bool = False) -> Any:
    """``torch.load`` a file on CPU with the ``weights_only`` unpickler, checked first.

    The Runner globals are allow-listed for good; ``extra_safe_globals`` only for
    this one load (e.g. ``argparse.Namespace`` that PixPro pickles).

    Args:
        path: Checkpoint file.
        extra_safe_globals: Further classes/functions the file may reference.
        what: How the caller names the file in error messages.
        mmap: Map the tensors instead of reading them (cheap peeks at ``meta``).

    Returns:
        The unpickled object.

    Raises:
        CheckpointFileError: See :func:`check_checkpoint_file`; also when the file
            references objects outside the allow-list (torch's own message would advise
            ``weights_only=False``, which mmdense does not do for files from elsewhere).
    """
    check_checkpoint_file(path, what)
    allow_runner_checkpoint_globals()
    try:
        with torch.serialization.safe_globals(list(extra_safe_globals)):
            return torch.load(path, map_location='cpu', mmap=mmap)
    except pickle.UnpicklingError as exc:
        found = re.search(r'GLOBAL ([\w.]+)', str(exc))
        culprit = found.group(1) if found else str(exc).splitlines()[0]
        raise CheckpointFileError(
            f'{what} {path!r} references {culprit}, which is not on the checkpoint allow-list: '
            'mmdense loads files with torch.load(weights_only=True) and does not unpickle '
            'arbitrary objects. If you trust the file, load it in a trusted environment and '
            're-save only its tensors (torch.save of the state dict), then use that file.'
        ) from None
