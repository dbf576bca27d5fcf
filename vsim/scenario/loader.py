"""Load a scenario file (YAML or TOML) into a validated :class:`Scenario`.

Every user mistake becomes a :class:`ScenarioError` whose message names the file, the field path
and what is allowed; callers print it and exit, never a traceback.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vsim.scenario.schema import Scenario
from vsim.scenario.tracekinds import TRACE_KINDS


class ScenarioError(ValueError):
    """A scenario that cannot be used, with a message written for the person who wrote it."""


def load_scenario(
    path: str | Path,
    overrides: dict[str, Any] | None = None,
    *,
    memory_limit: float | None = None,
) -> Scenario:
    """Read, override (``{"scheduler.policy": "best_fit"}``) and validate a scenario file.

    ``memory_limit``: bytes a run may need (:mod:`vsim.scenario.limits`); default the
    machine's available memory.
    """
    path = Path(path)
    data = read_raw(path)
    if overrides:
        data = apply_overrides(data, overrides, source=str(path))
    return validate_scenario(
        data, source=str(path), base_dir=path.parent, memory_limit=memory_limit
    )


def read_raw(path: Path) -> dict[str, Any]:
    """The file's contents as plain data, before validation."""
    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder; give the scenario file (.yaml or .toml)")
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the scenario as UTF-8"
        ) from None
    if not text.strip():
        raise ScenarioError(f"{path}: file is empty; a scenario needs duration and datacenter")
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}: {where}malformed YAML: {problem}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: a scenario must be a mapping of fields (duration, datacenter, guests...), "
            f"got {type(data).__name__}"
        )
    return data


def validate_scenario(
    data: dict[str, Any],
    *,
    source: str = "<scenario>",
    base_dir: Path | None = None,
    memory_limit: float | None = None,
) -> Scenario:
    """Validate plain data as a scenario; relative trace paths start at ``base_dir``; a run
    estimated to need more than ``memory_limit`` bytes (default: available memory) is refused."""
    context = {"base_dir": base_dir, "memory_limit": memory_limit}
    try:
        return Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(format_errors(exc, source)) from None


def format_errors(exc: ValidationError, source: str) -> str:
    """One line per problem: ``file: field.path: what is wrong and what is allowed``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = _dotted(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field; allowed here: {', '.join(_allowed_fields(err['loc']))}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "union_tag_invalid":
            msg = (
                f"unknown kind {err['input'].get('kind')!r}; {err['ctx']['expected_tags']} allowed"
            )
        elif err["type"] == "union_tag_not_found":
            msg = "needs a 'kind' field"
        lines.append(f"{source}: {loc + ': ' if loc else ''}{msg}")
    return "\n".join(lines)


# Discriminated-union tags pydantic inserts into error paths; not part of the user's path.
_UNION_TAGS = {
    "service",
    "constant",
    "diurnal",
    "random_walk",
    "planetlab",
    "csv",
    "batch",
    "linear",
    "specpower",
    *TRACE_KINDS,
}


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS:
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model that holds the unknown field ``loc``."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None:
            break
        if part in fields:
            model = _inner_model(fields[part].annotation)
        else:
            model = _workload_model(part) or model
    fields = getattr(model, "model_fields", None) or {}
    return sorted(fields)


def _inner_model(annotation: Any) -> Any:
    import typing

    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _workload_model(tag: Any) -> Any:
    from vsim.scenario import schema

    models = {
        "constant": schema.ConstantWorkload,
        "diurnal": schema.DiurnalWorkload,
        "random_walk": schema.RandomWalkWorkload,
        "planetlab": schema.PlanetLabWorkload,
        "csv": schema.CsvWorkload,
        "batch": schema.BatchWorkload,
        "service": schema.ServiceWorkload,
        **TRACE_KINDS,
    }
    return models.get(tag)


def apply_overrides(
    data: dict[str, Any], overrides: dict[str, Any], *, source: str
) -> dict[str, Any]:
    """A copy of ``data`` with dotted paths set (``guests.0.count``); values parsed as YAML."""
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        node: Any = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            key: Any = int(part) if isinstance(node, list) and part.isdigit() else part
            try:
                if isinstance(node, dict) and key not in node:
                    node[key] = {}
                node = node[key]
            except (IndexError, KeyError, TypeError):
                raise ScenarioError(f"{source}: --set {dotted}: no field {part!r} here") from None
        last: Any = int(parts[-1]) if isinstance(node, list) and parts[-1].isdigit() else parts[-1]
        if isinstance(value, str):
            value = yaml.safe_load(value)
        try:
            node[last] = value
        except (IndexError, TypeError):
            raise ScenarioError(f"{source}: --set {dotted}: no field {parts[-1]!r} here") from None
    return data
