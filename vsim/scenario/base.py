"""The base of every scenario section, and the helpers their error messages share."""

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo


class Strict(BaseModel):
    """Unknown fields are errors: a typo must never be silently ignored. Numbers are finite:
    ``.inf``, ``.nan`` or ``1e400s`` are refused (a field that means "no limit" takes none)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def existing_path(value: str, info: ValidationInfo, what: str = "trace") -> str:
    """``value`` resolved against the scenario file's folder; an error if nothing is there."""
    base = (info.context or {}).get("base_dir")
    path = Path(value)
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    if not path.exists():
        raise ValueError(
            f"{what} not found: {value!r} (relative paths start at the scenario's folder)"
        )
    return str(path)


def policy_name(kind: str, value: str, builtins: tuple[str, ...], info: ValidationInfo) -> str:
    """A policy field: a built-in name, a registered one, or an importable ``module:attr``
    (looked up on ``sys.path`` and in the scenario file's folder)."""
    from vsim.policies import check_name  # (the policies module needs nothing of scenarios)

    return check_name(kind, value, builtins, (info.context or {}).get("base_dir"))


def few_names(names: Iterable[str], n: int = 6) -> str:
    """The first ``n`` of ``names`` in sorted order, for an error that lists what is allowed."""
    s = sorted(set(names))
    return ", ".join(s[:n]) + (f" ... ({len(s)} in all)" if len(s) > n else "") if s else "none"
