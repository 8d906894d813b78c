"""A local file backend whose writes are atomic, for checkpoints.

MMEngine's ``LocalBackend.put`` opens the final path with ``'wb'`` and writes into
it, so a job killed (pre-empted, out of memory, out of time) while a multi-hundred-MB
checkpoint is being written leaves a truncated file under the checkpoint's name.
:class:`AtomicLocalBackend` writes to a hidden temporary file in the same folder,
flushes it to disk, then renames it over the target (``os.replace`` is atomic on
POSIX and Windows within one file system), so the target is always either the old
or the new complete file. Selected with ``CheckpointHook(backend_args=dict(backend=
'atomic_local'))``, the hook's own extension point: no MMEngine code is patched.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Optional, Union

from mmengine.fileio import LocalBackend, register_backend

__all__ = ['AtomicLocalBackend', 'atomic_write_bytes', 'TMP_SUFFIX']

TMP_SUFFIX = '.tmp'


def _fsync_dir(folder: str) -> None:
    # The rename lives in the directory entry; syncing the folder makes it durable.
    # Windows cannot open folders; there the rename alone must do.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(data: bytes, path: Union[str, Path], mode: Optional[int] = None) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a part.

    Args:
        data: The bytes to write.
        path: Target file; its folder is created if missing.
        mode: Permission bits the file gets before it appears under ``path``
            (e.g. ``0o644`` for files meant to be shared); None keeps the
            owner-only ``0o600`` of the temporary file.
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # Same folder as the target: a rename across file systems would not be atomic.
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix=TMP_SUFFIX,
                                    dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except BaseException:
        # Also on KeyboardInterrupt/SystemExit; a SIGKILL leaves the hidden temporary
        # file behind, which resume ignores.
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise
    _fsync_dir(folder)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` and ``put_text`` are atomic (see module doc)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Atomically write bytes to ``filepath``.

        Args:
            obj: Data to be written.
            filepath: Target path; its folder is created if missing.
        """
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Atomically write text to ``filepath``.

        Args:
            obj: Text to be written.
            filepath: Target path.
            encoding: Text encoding.
        """
        atomic_write_bytes(obj.encode(encoding), filepath)
