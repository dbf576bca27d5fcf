"""The JSON Schema of scenario files and the generated field reference."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from vsim.cli import main
from vsim.scenario.reference import reference_markdown, scenario_json_schema
from vsim.scenario.units import parse_bytes, parse_duration, parse_rate

ROOT = Path(__file__).resolve().parents[2]


class Yaml12(yaml.SafeLoader):
    """YAML 1.2 floats, as editors read them: PyYAML takes ``2.0e8`` for a string."""


Yaml12.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?([0-9]*\.)?[0-9]+[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_is_valid_under_the_schema(validator, path):
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=Yaml12)
    assert [e.message for e in validator.iter_errors(data)] == []


def test_the_schema_rejects_what_the_loader_rejects(validator):
    hosts = [{"name": "h", "count": 1, "cores": 4, "memory": "16GiB"}]
    base = {"duration": "2h", "datacenter": {"host_types": hosts}}
    assert validator.is_valid(base)
    assert not validator.is_valid({**base, "duraton": "2h"})  # unknown field
    assert not validator.is_valid({**base, "duration": "2 parsecs"})
    assert not validator.is_valid({**base, "scheduler": {"policy": "bogus"}})


@pytest.mark.parametrize(
    ("field", "parse", "texts"),
    [
        ("duration", parse_duration, ["5m", "0.5s", "2 h", "1e3", "30", "500ms", "5 parsecs", "m"]),
        ("memory", parse_bytes, ["4GiB", "512MB", "1e9", "12 KiB", "4Gb", "GiB", "4 GIB"]),
        ("dirty_rate", parse_rate, ["1Gbps", "500MB/s", "20 MiB/s", "10", "5MB", "1Gb/s"]),
    ],
)
def test_unit_patterns_accept_exactly_what_the_parsers_read(field, parse, texts):
    schema = scenario_json_schema()
    props = {
        "duration": schema["properties"]["duration"],
        "memory": schema["$defs"]["HostType"]["properties"]["memory"],
        "dirty_rate": schema["$defs"]["ConstantWorkload"]["properties"]["dirty_rate"],
    }[field]
    (text,) = [o for o in props["anyOf"] if o.get("type") == "string"]
    for value in texts:
        try:
            parse(value)
            readable = True
        except ValueError:
            readable = False
        assert (re.search(text["pattern"], value) is not None) == readable, value


def test_the_reference_in_docs_is_the_generated_one():
    current = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    assert current == reference_markdown(), (
        "docs/scenario-reference.md is stale: vsim schema --reference > docs/scenario-reference.md"
    )


def test_the_reference_lists_every_field_with_its_unit_and_default():
    text = reference_markdown()
    schema = scenario_json_schema()
    for name, model in schema["$defs"].items():
        section = text[text.index(f"### `{name}`") :]
        body = next((o for o in model.get("anyOf", []) if "properties" in o), model)
        for field in body.get("properties", {}):
            assert f"| `{field}` |" in section.split("\n### ")[0], (name, field)
    assert "| `duration` | number or duration | s | required | > 0 |" in text
    assert re.search(r"\| `memory` \| number or size \| bytes \| required \|", text)


def test_vsim_schema_prints_the_schema_and_the_reference(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == scenario_json_schema()
    assert main(["schema", "--reference"]) == 0
    assert capsys.readouterr().out == reference_markdown()


def _objects(node, where="schema"):
    """Every (path, object schema with properties) inside a JSON Schema, however nested."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{where}[{i}]")


def test_every_field_of_the_schema_has_a_description():
    schema = scenario_json_schema()
    missing = [
        f"{where}.{field}"
        for where, obj in _objects(schema)
        for field, prop in obj["properties"].items()
        if not str(prop.get("description", "")).strip()
    ]
    assert missing == []
    # The walk reaches the nested sections, not only the top level.
    assert sum(1 for _ in _objects(schema)) > 50


def test_vsim_schema_into_a_closed_pipe_prints_no_traceback():
    import subprocess
    import sys

    # The schema is larger than a pipe's buffer, so the write after the reader left fails.
    proc = subprocess.Popen(
        [sys.executable, "-m", "vsim", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout.readline().strip() == b"{"
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""
