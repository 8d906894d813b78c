"""Atomic checkpoint writes, resume-point selection and per-epoch worker seeds."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mmdense.utils import (AtomicLocalBackend, find_resumable_checkpoint, is_complete_checkpoint,
                           seed_worker_from_torch_seed)

REPO = Path(__file__).resolve().parents[2]

# Overwrite an existing checkpoint through the backend, and die by SIGKILL after the
# new bytes are written but before the rename: the moment a non-atomic writer would
# have left a half-written file under the checkpoint's name.
_KILL_DURING_SAVE = """
import io, os, signal, sys, torch
from mmengine.fileio import get_file_backend
import mmdense.utils.atomic_file_backend as atomic
backend = get_file_backend(sys.argv[1], backend_args=dict(backend='atomic_local'))
assert isinstance(backend, atomic.AtomicLocalBackend)
buf = io.BytesIO()
torch.save({'state_dict': {'w': torch.full((256, 256), 2.0)}}, buf)
atomic.os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
backend.put(buf.getvalue(), sys.argv[1])
"""


def _save(path: Path, value: float) -> None:
    torch.save({'state_dict': {'w': torch.full((256, 256), value)}}, path)


def test_sigkill_during_save_keeps_previous_checkpoint(tmp_path):
    _save(tmp_path / 'iter_1.pth', 0.0)
    _save(tmp_path / 'iter_2.pth', 1.0)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    proc = subprocess.run([sys.executable, '-c', _KILL_DURING_SAVE, str(tmp_path / 'iter_2.pth')],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == -9, proc.stderr[-2000:]
    # The new bytes reached only a hidden temporary file; the old checkpoint is whole.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith('.tmp')]
    assert len(leftovers) == 1 and leftovers[0].startswith('.iter_2.pth.')
    assert torch.load(tmp_path / 'iter_2.pth')['state_dict']['w'][0, 0] == 1.0
    assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')


def test_interrupted_put_cleans_up_and_keeps_target(tmp_path, monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old')
    import mmdense.utils.atomic_file_backend as atomic

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, 'replace', interrupted)
    with pytest.raises(KeyboardInterrupt):
        AtomicLocalBackend().put(b'new', target)
    assert target.read_bytes() == b'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']
    monkeypatch.undo()
    AtomicLocalBackend().put_text('x', tmp_path / 'sub' / 'last_checkpoint')
    assert (tmp_path / 'sub' / 'last_checkpoint').read_text() == 'x'


def test_resume_skips_truncated_checkpoint_and_bad_pointer(tmp_path):
    _save(tmp_path / 'epoch_1.pth', 0.0)
    _save(tmp_path / 'epoch_2.pth', 1.0)
    whole = (tmp_path / 'epoch_2.pth').read_bytes()
    # A checkpoint cut short (e.g. written by a non-atomic tool), named by the pointer.
    (tmp_path / 'epoch_3.pth').write_bytes(whole[:len(whole) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    assert not is_complete_checkpoint(str(tmp_path / 'epoch_3.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    # An empty pointer (killed while MMEngine rewrote it) falls back the same way.
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    assert find_resumable_checkpoint(str(tmp_path / 'absent')) is None


class _NumpyDraws(Dataset):

    def __len__(self):
        return 2

    def __getitem__(self, idx):
        return np.random.randint(0, 2**31)


def _two_epochs(worker_init_fn):
    torch.manual_seed(0)
    loader = DataLoader(_NumpyDraws(), batch_size=2, num_workers=1,
                        worker_init_fn=worker_init_fn)
    return [next(iter(loader)).tolist() for _ in range(2)]


def test_worker_seed_changes_per_epoch_and_is_reproducible():
    from functools import partial

    from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
    fixed = _two_epochs(partial(mmengine_worker_init_fn, num_workers=1, rank=0, seed=0))
    assert fixed[0] == fixed[1]  # the flaw: every epoch draws the same augmentations
    ours = _two_epochs(seed_worker_from_torch_seed)
    assert ours[0] != ours[1]
    assert ours == _two_epochs(seed_worker_from_torch_seed)
