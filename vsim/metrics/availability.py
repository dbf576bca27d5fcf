"""Availability, outages and data loss of every guest, read from the event log.

A guest is *meant to run* from its first ``placed`` event until it is ``stopped`` or
``deleted`` (or the run ends); a later ``placed`` opens a new window. An *outage* runs from a
``guest_down`` event until the guest is ``running`` again (a *failover*, whose length is the
failover time), or until it is stopped or the run ends (an open outage). Being down while not
meant to run is not downtime; the first boot is not an outage.

Data loss (guests protected by backups only; ``restart`` and ``replication`` lose nothing):
when a ``guest_down`` caused by a host failure ends a period of running, the data written since
the *recovery point* is lost, where the recovery point is the later of

- the snapshot of the last completed backup (taken when that backup *started*:
  ``backup_started`` followed by ``backup_done``; an aborted backup does not count), and
- the start of the guest's current data lineage: its first ``running``, or the ``running`` that
  ended its last host-failure outage (a restore begins a new lineage).

A guest crash keeps the guest's disk, so it loses nothing, and neither does a failure that hits
a guest still booting after an outage (nothing was written since the restore).

Summary: ``availability = 1 - sum(downtime_s) / sum(meant_s)`` over all guests, i.e. the
time-weighted fraction of guest-time up while meant to run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["availability_summary", "availability_table", "guest_availability"]

_KINDS = (
    "placed",
    "running",
    "guest_down",
    "stopped",
    "deleted",
    "restart_failed",
    "backup_started",
    "backup_done",
    "backup_aborted",
)
GUEST_COLUMNS = (
    "guest",
    "meant_s",
    "downtime_s",
    "availability",
    "outages",
    "restarts_failed",
    "data_loss_s",
)
OUTAGE_COLUMNS = (
    "guest",
    "down_s",
    "up_s",
    "duration_s",
    "closed_by",
    "restart_failed",
    "data_loss_s",
)


class _Guest:
    __slots__ = (
        "open_at",
        "meant",
        "down_since",
        "down_failed",
        "lineage",
        "pending",
        "snapshot",
        "outage",
    )

    def __init__(self) -> None:
        self.open_at: float | None = None
        self.meant = 0.0
        self.down_since: float | None = None
        self.down_failed = False
        self.lineage: float | None = None  # start of the current data lineage
        self.pending: float | None = None  # snapshot time of the backup in progress
        self.snapshot: float | None = None  # snapshot of the last completed backup
        self.outage: list[Any] | None = None


def guest_availability(
    events: pd.DataFrame, end_s: float, backup_guests: Iterable[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-guest availability and one row per outage, from an events frame.

    ``end_s`` is the end of the run; ``backup_guests`` names the guests protected by backups
    (the only ones that can lose data). Returns ``(guests, outages)`` with columns
    :data:`GUEST_COLUMNS` and :data:`OUTAGE_COLUMNS`.
    """
    backup = set(backup_guests)
    ev = events[events["kind"].isin(_KINDS)]
    state: dict[str, _Guest] = {}
    outages: list[list[Any]] = []
    for t, kind, name, detail in ev[["time_s", "kind", "subject", "detail"]].itertuples(
        index=False
    ):
        s = state.get(name)
        if s is None:
            s = state[name] = _Guest()
        _apply(s, t, kind, name, detail, name in backup, outages)
    for s in state.values():
        if s.down_since is not None:
            _close(s, end_s, "end")
        if s.open_at is not None:
            s.meant += end_s - s.open_at
            s.open_at = None
    out = pd.DataFrame(outages, columns=list(OUTAGE_COLUMNS))
    out["data_loss_s"] = out["data_loss_s"].fillna(0.0).astype(float)
    out["restart_failed"] = out["restart_failed"].astype(bool)
    return _per_guest(state, out), out


def _close(s: _Guest, t: float, by: str) -> None:
    """End guest ``s``'s open outage at ``t``, ended by ``by`` (running, stopped, end...)."""
    row = s.outage
    row[2] = t if by == "running" else np.nan
    row[3] = t - row[1]
    row[4] = by
    row[5] = s.down_failed
    s.down_since, s.outage, s.down_failed = None, None, False


def _apply(s: _Guest, t: float, kind: str, name: str, detail: str, backed_up: bool, outages):
    """One event of guest ``name`` (state ``s``); a new outage row goes to ``outages``."""
    if kind == "placed":
        if s.open_at is None:
            s.open_at = t
    elif kind == "running":
        if s.lineage is None:
            s.lineage = t
        if s.down_since is not None:
            if s.outage[6] is not None:  # a restore: a new lineage begins
                s.lineage = t
            _close(s, t, "running")
    elif kind == "guest_down":
        if s.down_since is None:
            loss = None
            if backed_up and detail == "host failure" and s.lineage is not None:
                point = max(s.lineage, s.snapshot) if s.snapshot is not None else s.lineage
                loss = max(t - point, 0.0)
            s.down_since = t
            s.outage = [name, t, np.nan, np.nan, "", False, loss]
            outages.append(s.outage)
        s.pending = None
    elif kind in ("stopped", "deleted"):
        if s.down_since is not None:
            _close(s, t, kind)
        if s.open_at is not None:
            s.meant += t - s.open_at
            s.open_at = None
    elif kind == "restart_failed":
        if s.down_since is not None:
            s.down_failed = True
    else:
        _apply_backup(s, t, kind)


def _apply_backup(s: _Guest, t: float, kind: str) -> None:
    if kind == "backup_started":
        s.pending = t
    elif kind == "backup_done":
        if s.pending is not None:
            s.snapshot = s.pending
        s.pending = None
    elif kind == "backup_aborted":
        s.pending = None


def _per_guest(state: dict[str, _Guest], out: pd.DataFrame) -> pd.DataFrame:
    """The per-guest table (:data:`GUEST_COLUMNS`) from the guests' states and outages."""
    by = out.groupby("guest")
    names = sorted(n for n, s in state.items() if s.meant > 0)
    table = pd.DataFrame({"guest": names})
    table["meant_s"] = [state[n].meant for n in names]
    table["downtime_s"] = by["duration_s"].sum().reindex(names, fill_value=0.0).to_numpy()
    table["availability"] = 1.0 - table["downtime_s"] / table["meant_s"]
    table["outages"] = by.size().reindex(names, fill_value=0).to_numpy()
    table["restarts_failed"] = by["restart_failed"].sum().reindex(names, fill_value=0).to_numpy()
    table["data_loss_s"] = by["data_loss_s"].sum().reindex(names, fill_value=0.0).to_numpy()
    return table


def availability_summary(guests: pd.DataFrame, outages: pd.DataFrame) -> dict[str, float]:
    """Headline columns from :func:`guest_availability`'s two tables."""
    meant = float(guests["meant_s"].sum())
    down = float(guests["downtime_s"].sum())
    failover = outages.loc[outages["closed_by"] == "running", "duration_s"].to_numpy(float)
    loss = outages["data_loss_s"].to_numpy(float)
    return {
        "availability": 1.0 - down / meant if meant > 0 else np.nan,
        "guest_downtime_s": down,
        "outages": len(outages),
        "restarts_failed": int(outages["restart_failed"].sum()),
        "failover_time_s_p50": float(np.quantile(failover, 0.5)) if len(failover) else np.nan,
        "failover_time_s_p95": float(np.quantile(failover, 0.95)) if len(failover) else np.nan,
        "data_loss_s_max": float(loss.max()) if len(loss) else 0.0,
    }


def availability_table(result: Any) -> pd.DataFrame:
    """Per-guest ``meant_s``, ``downtime_s``, ``availability``, ``outages``,
    ``restarts_failed`` and ``data_loss_s`` of a run (a :class:`vsim.Result`)."""
    scenario = result.manifest.get("scenario") or {}
    protection = (scenario.get("failures") or {}).get("protection") or {}
    backup: set[str] = set()
    for group in scenario.get("guests", []):
        if (protection.get(group["name"]) or {}).get("mode") == "backup":
            n = group.get("count", 1)
            names = [group["name"]] if n == 1 else [f"{group['name']}-{i}" for i in range(n)]
            backup.update(names)
    for group in scenario.get("guests", []):  # containers inside a backed-up VM
        if group.get("in_vm") in backup:
            n = group.get("count", 1)
            backup.update([group["name"]] if n == 1 else [f"{group['name']}-{i}" for i in range(n)])
    end = float(scenario.get("duration", result.events["time_s"].max()))
    table, _ = guest_availability(result.events, end, backup)
    return table
