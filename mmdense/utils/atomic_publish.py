"""Publish a generated folder atomically, stamped with what generated it."""
import os
import os.path as osp
import shutil
import tempfile
from collections.abc import Callable

__all__ = ['STAMP_FILE', 'publish_atomically']

STAMP_FILE = '.generator'


def publish_atomically(root: str, name: str, write: Callable[[str], None], stamp: str) -> str:
    """Create ``root/name`` with ``write`` unless it exists, never exposing a partial tree.

    ``write`` fills a hidden temporary folder next to the target, which is then
    renamed onto it: a rename within one file system is atomic, and it fails
    if another process has already renamed its own complete copy there, in
    which case that copy is kept and ours is deleted. The folder gets a
    ``.generator`` file holding ``stamp``; an existing folder with another stamp
    (other arguments, an older generator, or none) is an error, never reused.

    Args:
        root: Parent folder, created if missing.
        name: Name of the folder to create under ``root``.
        write: Called with the temporary folder to fill.
        stamp: One line naming the generator version and every argument that
            changes the content.

    Returns:
        str: The path ``root/name``.

    Raises:
        FileExistsError: ``root/name`` exists with a different stamp.
    """
    target = osp.join(root, name)
    if not osp.isdir(target):
        os.makedirs(root, exist_ok=True)
        tmp_dir = tempfile.mkdtemp(prefix=f'.{name}.tmp-', dir=root)
        try:
            os.chmod(tmp_dir, 0o755)  # mkdtemp makes it owner-only
            write(tmp_dir)
            with open(osp.join(tmp_dir, STAMP_FILE), 'w') as f:
                f.write(stamp + '\n')
            try:
                os.rename(tmp_dir, target)
            except OSError:
                if not osp.isdir(target):
                    raise
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    stamp_path = osp.join(target, STAMP_FILE)
    found = open(stamp_path).read().strip() if osp.isfile(stamp_path) else 'no stamp'
    if found != stamp:
        raise FileExistsError(
            f'{target} holds other generated data ({found}) than asked for ({stamp}). '
            'It is generated, so delete it (or pass another root) and run again.')
    return target
