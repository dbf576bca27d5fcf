"""The base of every scenario section."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo


class Strict(BaseModel):
    """Unknown fields are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
