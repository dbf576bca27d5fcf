"""What a finished sweep run's cache key is made of, and why an old run file is not reused.

A sweep reuses a run file only when the run it holds had the same resolved scenario (overrides
and seed applied) and was made by the same code. "The same code" is :func:`code_digest`: a hash
of every source file of the installed vsim package and of the versions of the libraries whose
arithmetic the results depend on. The package version alone is not enough: it stays the same
while the model changes, and results of the old model would be reused silently.

A run file of the same configuration and replication but another key is never mixed into the
tables: the run is done again, and :func:`stale_reason` says whether the code or the scenario
changed, so that the sweep can say so.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["code_digest", "run_digest", "scenario_digest", "stale_reason", "tree_digest"]

#: Libraries whose results a run's numbers depend on; their versions are part of the code.
LIBRARIES = ("numpy", "scipy", "simpy", "pandas")
#: Files that are not source: byte code and editor or build leftovers.
_SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".tmp", ".swp")


def tree_digest(root: str | Path) -> str:
    """sha256 of the files below ``root`` (byte code left out): their relative paths and
    bytes, in path order, so that an edit, an added file and a rename all change it."""
    root = Path(root)
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if _SKIPPED_PARTS.intersection(rel.parts) or path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        h.update(rel.as_posix().encode("utf-8") + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def _library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies of vsim
            out[name] = "missing"
    return out


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the code that runs a scenario: the installed vsim package's source files and
    the versions of :data:`LIBRARIES`. Computed once per process (a few milliseconds)."""
    import vsim

    package = tree_digest(Path(vsim.__file__).resolve().parent)
    libraries = json.dumps(_library_versions(), sort_keys=True)
    return hashlib.sha256(f"{package}\n{libraries}".encode()).hexdigest()


def scenario_digest(data: dict[str, Any]) -> str:
    """sha256 of a resolved scenario's data, independent of key order."""
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_digest(scenario: str, code: str) -> str:
    """The short digest in a run's id: of its scenario digest and its code digest."""
    return hashlib.sha256(f"{scenario}\n{code}".encode()).hexdigest()[:10]


def stale_reason(record: dict[str, Any], scenario: str, code: str) -> str:
    """Why a run file of the same configuration and replication cannot be reused: ``"code"``
    when other code made it (or it predates recording its code), else ``"scenario"``."""
    if record.get("code_digest") != code:
        return "code"
    if record.get("scenario_digest") != scenario:
        return "scenario"
    return "key"  # same digests, another id: a file renamed by hand
