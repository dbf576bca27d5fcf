"""The JSON Schema of scenario files and the field reference, both generated from the models.

:func:`scenario_json_schema` is what ``vsim schema`` prints: a JSON Schema (draft 2020-12) for
editors to complete and check scenario files with. The models store seconds, bytes and bytes per
second, but files may write ``5m``, ``4GiB`` or ``1Gbps``; the schema says so, with a pattern for
each kind of unit, so that an editor does not flag a readable value as an error.

:func:`reference_markdown` renders ``docs/scenario-reference.md`` from the same schema: every
section and field with its type, unit, default, allowed values and description. A test fails
when the file in the repository is not what this function renders.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from vsim.scenario.schema import Scenario
from vsim.scenario.units import (
    BIT_RATE_UNITS,
    BYTE_UNITS,
    DURATION_UNITS,
    parse_bytes,
    parse_duration,
    parse_rate,
)

__all__ = ["reference_markdown", "scenario_json_schema"]

_NUMBER = r"[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?"


def _units_pattern(units: list[str]) -> str:
    alternatives = "|".join(sorted((u.replace("/", "\\/") for u in units), key=len, reverse=True))
    return rf"^\s*{_NUMBER}\s*({alternatives})?\s*$"


#: Readable units per parser: (unit name, base unit, pattern, example).
_UNIT_KINDS = {
    parse_duration: ("duration", "s", _units_pattern(list(DURATION_UNITS)), "5m"),
    parse_bytes: ("size", "bytes", _units_pattern(list(BYTE_UNITS)), "4GiB"),
    parse_rate: (
        "rate",
        "bytes/s",
        _units_pattern([f"{u}/s" for u in BYTE_UNITS] + list(BIT_RATE_UNITS)),
        "1Gbps",
    ),
}


#: Models that a bare number stands for (a number is a deterministic distribution): their
#: schema accepts the number too.
_NUMBER_AS_MODEL = frozenset({"Distribution"})


def _unit_kind(fn: Any) -> tuple[str, str, str, str] | None:
    """The unit kind a before-validator parses: the parser itself, or a function that calls
    it (``service.py`` wraps ``parse_duration`` in a lambda)."""
    if fn in _UNIT_KINDS:
        return _UNIT_KINDS[fn]
    called = set(getattr(getattr(fn, "__code__", None), "co_names", ()))
    return next((k for f, k in _UNIT_KINDS.items() if f.__name__ in called), None)


class _UnitAwareSchema(GenerateJsonSchema):
    """Fields read by a unit parser accept a number in the base unit or a string with a unit;
    ``x-vsim-unit`` names the base unit for the reference."""

    def function_before_schema(self, schema: Any) -> dict[str, Any]:
        inner = super().function_before_schema(schema)
        kind = _unit_kind(schema.get("function", {}).get("function"))
        if kind is None:
            return inner
        name, base, pattern, example = kind
        text = {"type": "string", "pattern": pattern, "examples": [example]}
        return {"anyOf": [inner, text], "x-vsim-unit": base, "x-vsim-kind": name}


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (validation mode: what a file may contain)."""
    schema = Scenario.model_json_schema(schema_generator=_UnitAwareSchema, mode="validation")
    defs = schema.get("$defs", {})
    for name in _NUMBER_AS_MODEL & set(defs):
        model = defs[name]
        outer = {k: model.pop(k) for k in ("title", "description") if k in model}
        defs[name] = {**outer, "anyOf": [model, {"type": "number", "minimum": 0}]}
    _trace_forms(schema)
    _policy_names(defs)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", "vsim scenario")
    return schema


def _trace_forms(schema: dict[str, Any]) -> None:
    """Guests, host types and failure replays a trace defines (``vsim.scenario.fromtrace``,
    expanded before validation) are other forms of those entries."""
    from vsim.scenario.fromtrace import (
        GUEST_FIELDS_FROM_TRACE,
        HOST_FIELDS_FROM_TRACE,
        FailureReplay,
        HostTrace,
    )

    defs = schema["$defs"]
    for name, model in (("HostTrace", HostTrace), ("FailureReplay", FailureReplay)):
        sub = model.model_json_schema(schema_generator=_UnitAwareSchema, mode="validation")
        defs.update(sub.pop("$defs", {}))
        defs[name] = sub
    trace_ref = {"type": "string", "description": "a workload of a real-trace kind"}
    for base, dropped, trace in (
        ("Guest", GUEST_FIELDS_FROM_TRACE, trace_ref),
        (
            "HostType",
            HOST_FIELDS_FROM_TRACE,
            {"$ref": "#/$defs/HostTrace", "description": "the machine list the hosts come from"},
        ),
    ):
        model = defs[base]
        props = {k: v for k, v in model["properties"].items() if k not in dropped}
        defs[f"{base}FromTrace"] = {
            "type": "object",
            "description": f"A {base} entry whose count and sizes come from a trace.",
            "properties": {**props, "trace": trace},
            "required": ["name", "trace"],
            "additionalProperties": False,
        }
    schema["properties"]["guests"]["items"] = _either("Guest")
    defs["Datacenter"]["properties"]["host_types"]["items"] = _either("HostType")
    defs["Failures"]["properties"]["replay"] = {
        "type": "array",
        "items": {"$ref": "#/$defs/FailureReplay"},
        "description": "host outages replayed from a trace",
    }


def _either(base: str) -> dict[str, Any]:
    return {"anyOf": [{"$ref": f"#/$defs/{base}"}, {"$ref": f"#/$defs/{base}FromTrace"}]}


# An import path ``module:attribute`` naming a user policy (vsim.policies).
_IMPORT_PATH = {"type": "string", "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"}


def _policy_names(defs: dict[str, Any]) -> None:
    """Policy fields take a built-in name or an import path (names registered from Python
    are the one form a file-level schema cannot know)."""
    from vsim.policies import registered
    from vsim.scenario.consolidation import DETECTORS, PLACEMENTS, SELECTIONS
    from vsim.scenario.schema import PLACEMENT_POLICIES

    for model, field, names in (
        ("Scheduler", "policy", (*PLACEMENT_POLICIES, *registered("placement", vsim_only=True))),
        ("Consolidation", "detector", DETECTORS),
        ("Consolidation", "selection", SELECTIONS),
        ("Consolidation", "placement", PLACEMENTS),
        ("PeriodicControllerSpec", "policy", ()),
    ):
        prop = defs[model]["properties"][field]
        options = [{"enum": list(names)}] if names else []
        keep = {k: prop[k] for k in ("default", "description", "title") if k in prop}
        defs[model]["properties"][field] = {**keep, "anyOf": [*options, _IMPORT_PATH]}


def _type_text(prop: dict[str, Any]) -> str:
    """A short type: ``number``, ``string``, ``HostType``, ``list of GuestSpec``, ``a | b``."""
    if "x-vsim-kind" in prop:
        return f"number or {prop['x-vsim-kind']}"
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "enum" in prop or "const" in prop:
        return "string" if prop.get("type", "string") == "string" else str(prop.get("type"))
    if prop.get("type") == "array":
        return f"list of {_type_text(prop.get('items', {}))}"
    if prop.get("type") == "object" and "additionalProperties" in prop:
        values = prop["additionalProperties"]  # (True: any value, as for a policy's options)
        return f"map of {_type_text(values) if isinstance(values, dict) else 'any'}"
    options = prop.get("anyOf") or prop.get("oneOf")
    if options:
        kinds = [_type_text(o) for o in options if o.get("type") != "null"]
        return " | ".join(dict.fromkeys(kinds)) + (
            " (optional)" if len(kinds) < len(options) else ""
        )
    return str(prop.get("type", "any"))


def _allowed_text(prop: dict[str, Any]) -> str:
    values: list[Any] = []
    for option in [prop, *(prop.get("anyOf") or [])]:
        values += option.get("enum", [])
        if "const" in option:
            values.append(option["const"])
    bounds = [
        f"{sym} {prop[key]:g}"
        for key, sym in (
            ("minimum", ">="),
            ("exclusiveMinimum", ">"),
            ("maximum", "<="),
            ("exclusiveMaximum", "<"),
        )
        if key in prop
    ]
    for option in prop.get("anyOf") or []:
        bounds += [
            f"{sym} {option[key]:g}"
            for key, sym in (("exclusiveMinimum", ">"), ("minimum", ">="))
            if key in option
        ]
    return ", ".join([*(f"`{v}`" for v in values), *dict.fromkeys(bounds)])


def _default_text(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return ""
    default = prop["default"]
    if isinstance(default, dict | list):
        return "see section" if default else f"`{json.dumps(default)}`"
    return f"`{json.dumps(default)}`"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _model_table(name: str, model: dict[str, Any]) -> list[str]:
    lines = [f"### `{name}`", ""]
    if model.get("description"):
        lines += [_cell(model["description"]), ""]
    # A model a bare number may stand for is an anyOf of its object schema and a number.
    body = next((o for o in model.get("anyOf", []) if "properties" in o), model)
    if body is not model:
        lines += ["A bare number is accepted too.", ""]
    props = body.get("properties", {})
    if not props:
        return [*lines, "(no fields)", ""]
    lines += ["| field | type | unit | default | allowed | description |", "| --- " * 6 + "|"]
    required = set(body.get("required", []))
    for field, prop in props.items():
        row = [
            f"`{field}`",
            _type_text(prop),
            prop.get("x-vsim-unit", ""),
            _default_text(prop, field in required),
            _allowed_text(prop),
            prop.get("description", ""),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return [*lines, ""]


def reference_markdown() -> str:
    """``docs/scenario-reference.md``: every section of a scenario file and its fields."""
    schema = scenario_json_schema()
    lines = [
        "# Scenario file reference",
        "",
        "Generated from the scenario models by `vsim schema --reference`; do not edit by hand (a",
        "test fails when this file is stale). `vsim schema` prints the JSON Schema that editors",
        "use for completion and checking. Fields with a unit take a number in that unit or a",
        "string with a readable unit: durations `500ms 30s 5m 2h 1d`, sizes `512MB 4GiB`, rates",
        "`500MB/s 1Gbps`.",
        "",
        "## The file",
        "",
        *_model_table("Scenario", schema),
        "## Sections",
        "",
    ]
    for name, model in sorted(schema.get("$defs", {}).items()):
        lines += _model_table(name, model)
    return "\n".join(lines).rstrip() + "\n"
