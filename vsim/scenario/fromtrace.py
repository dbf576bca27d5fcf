"""Guests, host types and failures that a real trace defines, turned into plain scenario entries.

Three forms, each replaced before the scenario is validated by what it stands for::

    guests:
      - {name: bb, trace: bitbrains}        # one guest per VM/job/pod of workload `bitbrains`,
                                            # named bb:<id>, sized, arriving and leaving as
                                            # the trace says (a `delete` event at departure)
    datacenter:
      host_types:
        - {name: openb, trace: {kind: openb, path: nodes.csv}, core_mips: 2500}
                                            # one host type per distinct (cores, memory)
    failures:
      replay:
        - {kind: opendc, path: outages.parquet, host_types: [std]}
        - {kind: alibaba2017, path: server_event.csv, repair_after: 1h}

Other fields of a trace guest entry (``kind``, ``boot_time``, ``cpu_shares``...) apply to every
guest it makes, and those of a trace host type to every host type. The trace's memory and MHz
per core become the guests' ``memory`` and ``vcpu_mips`` (1 MHz is taken as 1 MIPS) unless the
entry sets them. Randomness (which hosts an OpenDC outage takes) comes from the scenario's
seed, the ``failure_replay`` stream of ``vsim.model.streams`` (one sub-stream per replay).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field, TypeAdapter, ValidationError, ValidationInfo, field_validator

from vsim import traces
from vsim.model.streams import RandomStreams
from vsim.scenario.base import Strict, existing_path
from vsim.scenario.tracekinds import GUEST_SEPARATOR, LoadShapeWorkload, TraceKind
from vsim.scenario.units import Bytes, Seconds, parse_duration

__all__ = ["expand_traces"]

# Fields a trace sets for each guest or host type: an entry giving them is an error, not ignored.
GUEST_FIELDS_FROM_TRACE = ("count", "vcpus", "start", "stop", "workload", "host", "in_vm")
HOST_FIELDS_FROM_TRACE = ("count", "cores", "memory")


class TraceGuests(Strict):
    """``guests:`` entry whose guests a trace defines (other Guest fields pass through)."""

    name: str = Field(pattern=r"^[^:]+$", description="group name; guests are <name>:<id>")
    trace: str = Field(description="a workload of a real-trace kind")
    vcpu_mips: float | None = Field(None, gt=0, description="default: the trace's MHz per core")
    memory: Bytes | None = Field(None, gt=0, description="default: the trace's memory size")


class HostTrace(Strict):
    """The machine list a host type comes from."""

    kind: Literal["openb", "alibaba2017"] = Field(description="the trace's format")
    path: str = Field(description="the machine list file")
    memory_scale: Bytes | None = Field(None, gt=0, description="bytes of normalized memory 1.0")

    @field_validator("path")
    @classmethod
    def _exists(cls, v: str, info: ValidationInfo) -> str:
        return existing_path(v, info)


class FailureReplay(Strict):
    """Host outages replayed from a trace onto the hosts of ``host_types`` (default: all).

    ``opendc``: each outage takes ``intensity`` x the hosts down, drawn at random among those up.
    ``alibaba2017``: machine ``k`` in id order is host ``k`` of the listed hosts; each error
    event (of the ``details`` listed, default all) takes it down for ``repair_after``.
    """

    kind: Literal["opendc", "alibaba2017"] = Field(description="the trace's format")
    path: str = Field(description="the failure trace file or folder")
    host_types: list[str] | None = Field(
        None, description="host types whose hosts the outages hit; none: all"
    )
    start: Seconds = Field(0.0, ge=0, description="trace time that becomes time 0 of the run")
    repair_after: Seconds | None = Field(None, gt=0, description="alibaba2017: outage length")
    details: list[str] | None = Field(None, description="alibaba2017: e.g. [machine_fail]")

    @field_validator("path")
    @classmethod
    def _exists(cls, v: str, info: ValidationInfo) -> str:
        return existing_path(v, info, "failure trace")


def expand_traces(data: Any, context: Mapping | None) -> Any:
    """``data`` with every trace form replaced; the same object when it has none."""
    if not isinstance(data, dict) or not _has_trace_forms(data):
        return data
    data = dict(data)
    ctx = dict(context or {})
    if "datacenter" in data:
        data["datacenter"] = _expand_host_types(data["datacenter"], ctx)
    guests, events = _expand_guests(data, ctx)
    data["guests"] = guests
    data["events"] = [*data.get("events", []), *events]
    if isinstance(data.get("failures"), dict) and "replay" in data["failures"]:
        data["failures"] = _expand_failures(data, ctx)
    return data


def _has_trace_forms(data: dict) -> bool:
    dc = data.get("datacenter")
    types = dc.get("host_types", []) if isinstance(dc, dict) else []
    failures = data.get("failures")
    return (
        any(isinstance(g, dict) and "trace" in g for g in data.get("guests", []) or [])
        or any(isinstance(h, dict) and "trace" in h for h in types or [])
        or (isinstance(failures, dict) and "replay" in failures)
    )


def _validated(model: Any, value: Any, where: str, ctx: dict) -> Any:
    """``value`` validated as ``model``; a ValueError naming ``where`` and the field if not."""
    try:
        return TypeAdapter(model).validate_python(value, context=ctx)
    except ValidationError as exc:
        from vsim.scenario.loader import _dotted  # the same paths as every other error

        err = exc.errors(include_url=False)[0]
        loc = _dotted(err["loc"])
        loc = "" if not loc else loc if loc.startswith("[") else f".{loc}"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        raise ValueError(f"{where}{loc}: {msg}") from None


# ---- guests ----------------------------------------------------------------------------------


def _expand_guests(data: dict, ctx: dict) -> tuple[list, list]:
    guests, events = [], []
    for i, entry in enumerate(data.get("guests", []) or []):
        if not (isinstance(entry, dict) and "trace" in entry):
            guests.append(entry)
            continue
        made, deletes = _trace_guests(i, entry, data, ctx)
        guests += made
        events += deletes
    return guests, events


def _trace_guests(i: int, entry: dict, data: dict, ctx: dict) -> tuple[list, list]:
    from vsim.scenario.schema import Guest, Workload

    where = f"guests[{i}]"
    own = {k: entry[k] for k in TraceGuests.model_fields if k in entry}
    spec = _validated(TraceGuests, own, where, ctx)
    template = {k: v for k, v in entry.items() if k not in TraceGuests.model_fields}
    _no_trace_fields(template, GUEST_FIELDS_FROM_TRACE, where)
    _validated(Guest, {**template, "name": "x", "memory": "1GiB"}, where, ctx)
    workloads = data.get("workloads", {}) or {}
    if spec.trace not in workloads:
        raise ValueError(
            f"{where}.trace: workload {spec.trace!r} is not defined; "
            f"defined: {sorted(workloads) or 'none'}"
        )
    wl = _validated(Workload, workloads[spec.trace], f"workloads.{spec.trace}", ctx)
    if not isinstance(wl, TraceKind) or isinstance(wl, LoadShapeWorkload):
        raise ValueError(
            f"{where}.trace: workload {spec.trace!r} is of kind {wl.kind!r}, which defines no "
            "guests; trace guests come from bitbrains, opendc, alibaba2017, openb or swf"
        )
    step = wl.step or parse_duration(data.get("sample_interval", 300.0))
    specs = wl.load(step).guests
    memory = _guest_memory(specs, spec, where)
    mips = spec.vcpu_mips
    guests, events = [], []
    for k, ident in enumerate(specs.names):
        if not (specs.vcpus[k] > 0 and memory[k] > 0):
            continue  # a request of nothing (openb has 0-CPU pods): no guest to place
        g = {
            **template,
            "name": f"{spec.name}{GUEST_SEPARATOR}{ident}",
            "vcpus": float(specs.vcpus[k]),
            "vcpu_mips": mips or _trace_mips(specs, k, template),
            "memory": float(memory[k]),
            "workload": spec.trace,
            "start": float(specs.start[k]),
            "count": 1 if specs.count is None else int(specs.count[k]),
        }
        guests.append(g)
        if math.isfinite(specs.stop[k]):
            names = Guest.model_construct(name=g["name"], count=g["count"]).instance_names()
            events += [{"at": float(specs.stop[k]), "action": "delete", "guest": n} for n in names]
    return guests, events


def _no_trace_fields(template: dict, fields: tuple[str, ...], where: str) -> None:
    for f in fields:
        if f in template:
            raise ValueError(f"{where}.{f}: the trace sets it; remove it from this entry")


def _guest_memory(specs: traces.GuestSpecs, spec: TraceGuests, where: str) -> np.ndarray:
    if spec.memory is not None:
        return np.full(len(specs), spec.memory)
    if specs.memory is None:
        raise ValueError(
            f"{where}.memory: the trace gives no memory size; set memory (bytes per guest), "
            "or memory_scale on an alibaba2017 workload"
        )
    return specs.memory


def _trace_mips(specs: traces.GuestSpecs, k: int, template: dict) -> float:
    if specs.vcpu_mhz is not None and specs.vcpu_mhz[k] > 0:
        return float(specs.vcpu_mhz[k])
    return float(template.get("vcpu_mips", 1000.0))


# ---- host types ------------------------------------------------------------------------------


def _expand_host_types(dc: Any, ctx: dict) -> Any:
    if not isinstance(dc, dict):
        return dc
    out = []
    for i, entry in enumerate(dc.get("host_types", []) or []):
        if isinstance(entry, dict) and "trace" in entry:
            out += _trace_host_types(i, entry, ctx)
        else:
            out.append(entry)
    return {**dc, "host_types": out}


def _trace_host_types(i: int, entry: dict, ctx: dict) -> list[dict]:
    from vsim.scenario.schema import HostType

    where = f"datacenter.host_types[{i}]"
    source = _validated(HostTrace, entry["trace"], f"{where}.trace", ctx)
    path = source.path
    template = {k: v for k, v in entry.items() if k not in ("trace", "name")}
    _no_trace_fields(template, HOST_FIELDS_FROM_TRACE, where)
    _validated(
        HostType, {**template, "name": "x", "count": 1, "cores": 1, "memory": "1GiB"}, where, ctx
    )
    if source.kind == "openb":
        machines = traces.openb_nodes(path)
    else:
        machines = traces.alibaba2017_machines(path, memory_scale=source.memory_scale)
    if machines.memory is None:
        raise ValueError(f"{where}.trace.memory_scale: the trace normalizes memory; give bytes")
    if not np.all(machines.cores == np.round(machines.cores)):
        raise ValueError(f"{where}.trace: machines with fractional cores; vsim counts whole ones")
    sizes, counts = np.unique(
        np.stack([machines.cores, machines.memory]), axis=1, return_counts=True
    )
    prefix = entry.get("name", source.kind)
    return [
        {
            **template,
            "name": f"{prefix}-{int(c)}c-{m / 2**30:g}g",
            "count": int(n),
            "cores": int(c),
            "memory": float(m),
        }
        for (c, m), n in zip(sizes.T, counts, strict=True)
    ]


# ---- failures --------------------------------------------------------------------------------


def _expand_failures(data: dict, ctx: dict) -> dict:
    failures = dict(data["failures"])
    replays = failures.pop("replay") or []
    scheduled = list(failures.get("scheduled", []) or [])
    for i, raw in enumerate(replays):
        where = f"failures.replay[{i}]"
        replay = _validated(FailureReplay, raw, where, ctx)
        hosts = _replay_hosts(data, replay, where)
        path = replay.path
        duration = parse_duration(data.get("duration", math.inf))
        if replay.kind == "opendc":
            rng = RandomStreams(int(data.get("seed", 0))).generator("failure_replay", i)
            outages = _opendc_outages(path, replay, hosts, rng)
        else:
            outages = _alibaba_outages(path, replay, hosts, where)
        scheduled += [
            {"host": h, "at": at, "repair_after": rep} for h, at, rep in outages if at < duration
        ]
    failures["scheduled"] = scheduled
    return failures


def _replay_hosts(data: dict, replay: FailureReplay, where: str) -> list[str]:
    types = data.get("datacenter", {}).get("host_types", [])
    chosen = []
    known = [t.get("name") for t in types if isinstance(t, dict)]
    for t in replay.host_types or known:
        if t not in known:
            raise ValueError(f"{where}.host_types: host type {t!r} does not exist; known: {known}")
    for t in types:
        if replay.host_types is None or t.get("name") in replay.host_types:
            chosen += [f"{t['name']}-{k}" for k in range(int(t.get("count", 0)))]
    return chosen


def _opendc_outages(path: str, replay: FailureReplay, hosts: list[str], rng) -> list[tuple]:
    frame = traces.opendc_failures_frame(path)
    frame = frame[frame["end_s"] > replay.start]
    up_again = np.zeros(len(hosts))  # when each host is repaired; drawn among those up
    out = []
    for start, duration, intensity in frame[["start_s", "duration_s", "intensity"]].itertuples(
        index=False
    ):
        at = max(start - replay.start, 0.0)
        n = max(1, round(intensity * len(hosts))) if intensity > 0 else 0
        up = np.flatnonzero(up_again <= at)
        picked = rng.choice(up, size=min(n, up.size), replace=False) if up.size else []
        for h in np.sort(picked):
            up_again[h] = at + duration
            out.append((hosts[h], float(at), float(duration)))
    return out


def _alibaba_outages(path: str, replay: FailureReplay, hosts: list[str], where: str) -> list:
    if replay.repair_after is None:
        raise ValueError(f"{where}.repair_after: alibaba2017 events have no duration; give one")
    events = traces.server_events_frame(path)
    machines = np.sort(events.loc[events["event"] == "add", "machine_id"].unique())
    host_of = {int(m): hosts[k] for k, m in enumerate(machines[: len(hosts)])}
    errors = events[events["event"].isin(["softerror", "harderror"])].sort_values("time_s")
    if replay.details is not None:
        errors = errors[errors["detail"].isin(replay.details)]
    up_again: dict[str, float] = {}
    out = []
    for t, machine in errors[["time_s", "machine_id"]].itertuples(index=False):
        host, at = host_of.get(int(machine)), float(t) - replay.start
        if host is None or at < 0 or up_again.get(host, -1.0) > at:
            continue  # a machine beyond the hosts, before the window, or already down
        up_again[host] = at + replay.repair_after
        out.append((host, at, replay.repair_after))
    return out
