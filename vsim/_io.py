"""Small, dependency-free file helpers shared by every layer.

Lives at the package root (not in ``vsim.experiment``) so that lower layers such as
``vsim.plot`` can write files atomically without importing from a layer above them.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "clean_stale_temps", "replace_folder"]

#: Temporary names: ``.<name>.<pid>-<hex>.tmp`` (and ``.old`` for a folder being replaced); the
#: pid tells a leftover of a dead writer from a write in progress. Older vsim wrote
#: ``.<name>.<hex>.tmp`` without a pid; those are leftovers too.
_TEMP = re.compile(r"^\..+\.(?:(?P<pid>\d+)-)?[0-9a-f]{12}\.(?:tmp|old)$")


def _temp_path(path: Path, suffix: str = "tmp") -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.{suffix}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: not one of our writers, but alive
        return True
    return True


def clean_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files and folders that writers killed mid-write left in ``folder``
    (those of a writer still running are kept). Returns what was removed."""
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        match = _TEMP.match(path.name)
        if match is None:
            continue
        pid = match.group("pid")
        if pid is not None and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def replace_folder(target: str | os.PathLike[str], fill: Callable[[Path], None]) -> Path:
    """Write a whole folder, then put it in place of ``target``: all of it or none of it.

    ``fill`` writes every file into a fresh temporary folder beside ``target``; when it returns,
    its files are flushed to disk and the folder is renamed onto ``target``. A folder already at
    ``target`` is first renamed aside, then removed, so no file of it survives beside the new
    ones. If ``fill`` raises (or the process is killed), ``target`` is left as it was and the
    temporary folder is removed, now or by :func:`clean_stale_temps` at the next write.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(target.parent)
    tmp = _temp_path(target)
    tmp.mkdir()
    try:
        fill(tmp)
        for path in tmp.rglob("*"):
            if path.is_file():
                _fsync_file(path)
        old = _temp_path(target, "old") if target.exists() else None
        if old is not None:
            os.rename(target, old)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


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
    tmp = _temp_path(path)
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
