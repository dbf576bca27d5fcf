"""Small builders for scenarios written inline in tests."""

from __future__ import annotations

from typing import Any

from vsim.scenario import Scenario, validate_scenario


def host(
    count: int = 1, cores: int = 2, mips: float = 1000.0, memory: str = "16GiB", **kw: Any
) -> dict:
    return {
        "name": kw.pop("name", "h"),
        "count": count,
        "cores": cores,
        "core_mips": mips,
        "memory": memory,
        **kw,
    }


def vm(
    name: str, workload: str | None = None, vcpus: float = 1, memory: str = "1GiB", **kw: Any
) -> dict:
    return {
        "name": name,
        "kind": "vm",
        "vcpus": vcpus,
        "vcpu_mips": 1000.0,
        "memory": memory,
        "workload": workload,
        "boot_time": 0,
        **kw,
    }


def scenario(
    hosts: list[dict], guests: list[dict], workloads: dict | None = None, **kw: Any
) -> Scenario:
    data = {
        "duration": kw.pop("duration", 300),
        "sample_interval": kw.pop("sample_interval", 300),
        "datacenter": {"host_types": hosts},
        "guests": guests,
        "workloads": workloads or {},
        **kw,
    }
    return validate_scenario(data)


def shared_data(*parts: str):
    """A path under the shared real-trace folder (``$VSIM_DATA``, else ``../shared/data`` beside
    the repository); the calling test is skipped when it is absent. Data is never copied in."""
    import os
    from pathlib import Path

    import pytest

    repo = Path(__file__).resolve().parents[1]
    root = Path(os.environ.get("VSIM_DATA", repo.parent / "shared" / "data"))
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real trace {'/'.join(parts)} not found (set VSIM_DATA)")
    return path


def assert_passes(checks) -> None:
    """Every check of a validation case passed (``vsim.experiment.verify``); else the lines
    of the ones that did not."""
    failed = [c.message for c in checks if c.status != "pass"]
    assert checks and not failed, "\n".join(failed) or "no quantity was checked"
