"""Find the checkpoint ``--resume`` should continue from, skipping damaged files."""
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional

from mmengine.logging import print_log

__all__ = ['is_complete_checkpoint', 'list_checkpoints', 'find_resumable_checkpoint']

_STEP = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole ``torch.save`` file (zip format).

    A file cut short lacks the zip central directory at its end, so opening it
    fails; this reads only the directory, not the tensors.

    Args:
        path: Candidate checkpoint.

    Returns:
        bool: True when the file exists and its archive is complete.
    """
    if not osp.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith('/data.pkl') or name == 'data.pkl'
                       for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def list_checkpoints(work_dir: str) -> List[str]:
    """``epoch_N.pth``/``iter_N.pth`` in ``work_dir``, newest step first."""
    found = []
    for name in os.listdir(work_dir):
        match = _STEP.match(name)
        if match:
            found.append((int(match.group(2)), osp.getmtime(osp.join(work_dir, name)),
                          osp.join(work_dir, name)))
    return [path for _, _, path in sorted(found, reverse=True)]


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume from in ``work_dir``, or None for a fresh start.

    Prefers the file named by ``work_dir/last_checkpoint`` (MMEngine's record), but
    only when it is complete; otherwise the highest-step complete ``epoch_N.pth`` or
    ``iter_N.pth`` in the folder. Damaged files are reported and passed over, so a job
    killed while saving resumes from the previous checkpoint.

    Args:
        work_dir: The run's work directory.

    Returns:
        str | None: Path of the checkpoint.
    """
    if not osp.isdir(work_dir):
        return None
    ordered = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            recorded = f.read().strip()
        if recorded:
            ordered.append(recorded)
    ordered += list_checkpoints(work_dir)
    for path in ordered:
        if is_complete_checkpoint(path):
            return path
        print_log(f'Not resuming from "{path}": missing or incomplete (a save was '
                  'probably interrupted); trying an older checkpoint.', logger='current',
                  level=30)
    return None
