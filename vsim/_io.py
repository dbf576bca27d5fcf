"""Small, dependency-free file helpers shared by every layer.

Lives at the package root (not in ``vsim.experiment``) so that lower layers such as
``vsim.plot`` can write files atomically without importing from a layer above them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Write ``path`` atomically: all of it or none of it.

    ``write`` is called with a temporary path in the same folder as ``path``; when it
    returns, the temporary file is flushed to disk and renamed onto ``path`` with
    :func:`os.replace` (atomic on POSIX and Windows within one file system). If ``write``
    raises (or the process is interrupted inside it), the temporary file is removed and
    any previous file at ``path`` is left untouched, so a reader never sees a half-written
    file under the final name.

    The temporary file is *not* created beforehand: ``write`` creates it, so it gets the
    usual permissions (umask) and writers that refuse to overwrite still work. Its name
    starts with a dot and ends in ``.tmp``, and has no meaningful extension, so writers
    that infer a format from the suffix must be told the format explicitly.

    Args:
        path: final file path; its folder must exist.
        write: callable that writes the complete content to the path it is given.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        write(tmp)
        if not tmp.exists():
            raise FileNotFoundError(f"writer did not create a file for {path}")
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_file(path: Path) -> None:
    """Flush a file's content to stable storage (best effort)."""
    _fsync(path)


def _fsync_dir(folder: Path) -> None:
    """Persist a rename by syncing its folder (POSIX only; best effort)."""
    if os.name == "posix":
        _fsync(folder)


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
