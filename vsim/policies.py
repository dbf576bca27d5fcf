"""Bring your own policy: the plug-in points of placement and consolidation, and their registry.

A scenario names a policy by a built-in name (``best_fit``, ``thr``, ``mmt``...), by a name
registered from Python (:func:`register`), or by an import path ``module:attribute`` (the
module is looked up on ``sys.path`` and in the scenario file's folder). Each plug-in point has a
documented signature:

- ``scheduler.policy``: a :class:`PlacementPolicy`, called once per guest to place;
- ``consolidation.detector``: an :class:`OverloadDetector`, called with the hosts' loads;
- ``consolidation.selection``: a :class:`VmSelection`, which picks a VM to move off each host
  that is still overloaded;
- ``consolidation.placement``: a :class:`TargetPlacement`, which picks a destination for a VM;
- ``controllers``: a :class:`PeriodicController`, called every interval with the engine (its
  read-only views and commands, :mod:`vsim.model.contract`).

The built-in policies implement the same interfaces; the engine and the consolidation
controller call their vectorized forms directly (the fast path), and
``tests/test_policies.py`` checks that a built-in called through the general interface makes
the same decisions. A policy that raises, or answers what cannot be done (a host out of range,
a host without room, a VM that is not on the host), stops the run with a :class:`PolicyError`
naming the policy and the decision.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

KINDS = ("placement", "detector", "selection", "target", "controller")

#: Policies registered from Python, by kind and name.
_REGISTERED: dict[str, dict[str, Any]] = {k: {} for k in KINDS}


class PolicyError(RuntimeError):
    """A user policy failed or made an impossible decision; the message names both."""


# ---------------------------------------------------------------------- the plug-in points
@dataclass(frozen=True)
class PlacementView:
    """What a placement policy sees for one guest: per resource (``cpu``, ``memory``,
    ``disk``, ``net``) the hosts' capacity (overcommit applied), what is allocated and what is
    free, float64[H] each; which hosts can take the request (``feasible``: enabled, with room,
    not excluded by anti-affinity); the host names and the time."""

    capacity: dict[str, np.ndarray]
    used: dict[str, np.ndarray]
    free: dict[str, np.ndarray]
    feasible: np.ndarray
    host_names: np.ndarray
    now: float
    vcpu_mips: float = 0.0  # the guest's vCPU speed
    core_mips: np.ndarray | None = None  # float64[H], each host's core speed
    power: Any = None  # the hosts' power tables (PowerTables: .at(hosts, util), .tables)
    rng: np.random.Generator | None = None  # the run's placement stream
    tenant: int = 0  # the guest's tenant id (0: none)
    tenant_guests: np.ndarray | None = None  # int64[H], guests of that tenant on each host
    tenant_hosts_ever: np.ndarray | None = None  # bool[H], hosts that ever held the tenant
    tenants_on: np.ndarray | None = None  # int64[H], distinct tenants on each host
    tenant_cap: int = 2  # scheduler.tenant_cap
    tenant_spread: int = 2  # scheduler.tenant_spread


"""The fields after ``now`` describe the guest and the hosts' hardware, for policies that
weigh power or core speed (CloudSim's placement below), the run's placement random stream,
and the tenants (the isolation-aware policies below); ``feasible`` already leaves out hosts
the tenants' isolation forbids."""


class PlacementPolicy(Protocol):
    """``policy(request, view) -> host``: the index of the host for a guest asking for
    ``request`` (``{resource: amount}``), or -1 to reject it. The host must be feasible."""

    def __call__(self, request: dict[str, float], view: PlacementView) -> int: ...


@dataclass(frozen=True)
class HostLoads:
    """What an overload detector sees: ``k`` hosts (``hosts``, int64[k]), their CPU
    utilization now as the round sees it (``utilization``, float64[k], VMs already chosen to
    leave taken off), their utilization history (``history``, float64[k, W], most recent
    last, the last ``n_history`` entries valid) and the engine (read-only use)."""

    hosts: np.ndarray
    utilization: np.ndarray
    history: np.ndarray
    n_history: np.ndarray
    engine: Any


class OverloadDetector(Protocol):
    """``detector(loads) -> bool[k]``: which of the hosts are overloaded."""

    def __call__(self, loads: HostLoads) -> np.ndarray: ...


@dataclass(frozen=True)
class VmCandidates:
    """What a VM selection sees: the hosts that must shed a VM (``hosts``, bool[H]), and the
    running VMs (``guests``, int64[m]) with their host, requested MIPS, memory (bytes),
    CPU-request history (float64[m, W], ``n_history`` valid) and whether each may be chosen
    (``eligible``: not migrating, not chosen yet)."""

    hosts: np.ndarray
    guests: np.ndarray
    host: np.ndarray
    request_mips: np.ndarray
    memory: np.ndarray
    history: np.ndarray
    n_history: np.ndarray
    eligible: np.ndarray
    engine: Any


class VmSelection(Protocol):
    """``selection(candidates) -> int[H]``: for each host in ``candidates.hosts`` the guest
    index of an eligible VM on it to move, or -1 (none); ignored for the other hosts."""

    def __call__(self, candidates: VmCandidates) -> np.ndarray: ...


@dataclass(frozen=True)
class TargetView:
    """What a target placement sees for one VM: its guest index, requested MIPS and memory,
    the candidate hosts (int64[c], ascending), and per host (float64[H]) the CPU the round has
    already committed (MIPS), the most it may hold (MIPS), memory used and capacity."""

    guest: int
    request_mips: float
    memory: float
    candidates: np.ndarray
    load_mips: np.ndarray
    limit_mips: np.ndarray
    memory_used: np.ndarray
    memory_capacity: np.ndarray
    engine: Any

    def fits(self) -> np.ndarray:
        """bool[c]: which candidates have CPU and memory room for the VM."""
        c = self.candidates
        cpu = self.load_mips[c] + self.request_mips <= self.limit_mips[c]
        return cpu & (self.memory_used[c] + self.memory <= self.memory_capacity[c])


class TargetPlacement(Protocol):
    """``target(view) -> host``: a host among ``view.candidates`` with room, or -1."""

    def __call__(self, view: TargetView) -> int: ...


class PeriodicController(Protocol):
    """Built as ``controller(engine, **options)``; called as ``controller.tick(engine)`` every
    ``interval`` seconds (like CloudSim Plus's clock-tick listeners). It may read the engine's
    views and use its commands; ``summary()`` adds columns to the run's summary."""

    def tick(self, engine: Any) -> None: ...


# ---------------------------------------------------------------------- registry
def register(kind: str, name: str, policy: Any | None = None):
    """Register ``policy`` under ``name`` for the plug-in point ``kind`` (one of
    :data:`KINDS`); usable as a decorator (``@register("placement", "least_loaded")``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown policy kind {kind!r}; kinds: {', '.join(KINDS)}")

    def add(p: Any) -> Any:
        _REGISTERED[kind][name] = p
        return p

    return add if policy is None else add(policy)


def registered(kind: str, *, vsim_only: bool = False) -> tuple[str, ...]:
    """The names registered for the plug-in point ``kind`` so far (vsim's own first);
    ``vsim_only``: only the policies vsim itself defines, not a user's (as the generated
    reference lists them, whatever a process registered before)."""
    reg = _REGISTERED[kind]
    if vsim_only:
        return tuple(n for n, p in reg.items() if getattr(p, "__module__", "").startswith("vsim."))
    return tuple(reg)


def is_import_path(spec: str) -> bool:
    return ":" in spec


def check_name(kind: str, spec: str, builtins: tuple[str, ...], base_dir: Path | None) -> str:
    """Validate a scenario's policy name: a built-in, a registered name, or an importable
    ``module:attribute``; raises ValueError with what is allowed."""
    if spec in builtins or spec in _REGISTERED[kind]:
        return spec
    if not is_import_path(spec):
        known = [repr(k) for k in (*builtins, *_REGISTERED[kind])]
        raise ValueError(
            f"unknown {kind} policy {spec!r}; allowed: {', '.join(known)}, a policy registered "
            "with vsim.policies.register, or an import path 'module:attribute'"
        )
    load(spec, base_dir)
    return spec


def load(spec: str, base_dir: Path | str | None = None) -> Any:
    """The object an import path ``module:attribute`` names (the module searched on
    ``sys.path``, then in ``base_dir``); ValueError naming what failed."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{spec!r} is not an import path 'module:attribute'")
    try:
        module = _import(module_name, base_dir)
    except Exception as exc:  # (any error of the user's module, shown without a traceback)
        raise ValueError(f"cannot import {module_name!r} for {spec!r}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{spec!r} is not callable")
    return obj


def _import(module_name: str, base_dir: Path | str | None):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if base_dir is None or exc.name != module_name.split(".")[0]:
            raise
    folder = str(Path(base_dir).resolve())
    if folder not in sys.path:
        sys.path.append(folder)  # a policy module beside the scenario file
    return importlib.import_module(module_name)


def resolve(kind: str, spec: str, base_dir: Path | str | None = None) -> Any:
    """The user policy named ``spec`` (registered, or an import path); None for a built-in."""
    if spec in _REGISTERED[kind]:
        return _REGISTERED[kind][spec]
    if is_import_path(spec):
        try:
            return load(spec, base_dir)
        except ValueError as exc:
            raise PolicyError(f"{kind} policy: {exc}") from None
    return None


def call(spec: str, decision: str, fn: Callable, *args: Any) -> Any:
    """Call user policy ``fn`` (named ``spec``) for ``decision``; whatever it raises becomes a
    :class:`PolicyError` naming both."""
    try:
        return fn(*args)
    except Exception as exc:
        raise PolicyError(
            f"policy {spec!r} failed while {decision}: {type(exc).__name__}: {exc}"
        ) from exc


def as_host(spec: str, decision: str, answer: Any, n_hosts: int) -> int:
    """A policy's answer as a host index (-1: none); PolicyError if it is not one."""
    try:
        h = int(answer)
    except (TypeError, ValueError):
        h = None
    if h is None or h != answer or not -1 <= h < n_hosts:
        raise PolicyError(
            f"policy {spec!r} answered {answer!r} while {decision}; "
            f"a host index 0..{n_hosts - 1} or -1 (none) is allowed"
        )
    return h


# ---------------------------------------------------------------------- CloudSim's placement
def _core_fits(request: dict[str, float], view: PlacementView) -> np.ndarray:
    # CloudSim places a VM only where its single vCPU fits one core (2500 MIPS VMs on G5 only).
    return view.feasible & (view.vcpu_mips <= view.core_mips)


def cloudsim_first_fit(request: dict[str, float], view: PlacementView) -> int:
    """CloudSim 4.0's initial placement without a migration policy (NPA, DVFS): the first
    host with room for the VM's nominal MIPS and whole RAM, its vCPU fitting one core."""
    ok = _core_fits(request, view)
    return int(np.argmax(ok)) if ok.any() else -1


def cloudsim_pabfd(request: dict[str, float], view: PlacementView) -> int:
    """CloudSim 4.0's initial placement under a migration policy (Beloglazov & Buyya 2012,
    Algorithm 1 at t = 0): the host whose power grows least from its idle power (every host's
    utilization at its last update is 0 then), with the checks of :func:`cloudsim_first_fit`;
    the lowest index among equals."""
    ok = _core_fits(request, view)
    if not ok.any():
        return -1
    cap = view.capacity["cpu"]
    after = view.used["cpu"] + request["cpu"]
    hosts = np.arange(len(cap))
    increase = view.power.at(hosts, after / cap) - view.power.tables[:, 0]
    return int(np.argmin(np.where(ok, increase, np.inf)))


register("placement", "cloudsim_first_fit", cloudsim_first_fit)
register("placement", "cloudsim_pabfd", cloudsim_pabfd)


# ---------------------------------------------------------------------- isolation-aware
def _leftover(request: dict[str, float], view: PlacementView) -> np.ndarray:
    """Best fit's score of every host: ``sum_r (free_r - req_r) / cap_r`` (0 for a resource
    a host lacks or has without limit)."""
    total = np.zeros(len(view.feasible))
    with np.errstate(divide="ignore", invalid="ignore"):
        for r, q in request.items():
            cap = view.capacity[r]
            inv = np.where(np.isfinite(1.0 / cap), 1.0 / cap, 0.0)
            total += np.where(inv > 0, (view.free[r] - q) * inv, 0.0)
    return total


def _best_of(ok: np.ndarray, score: np.ndarray) -> int:
    """The lowest-score host among ``ok`` (lowest index among equals), -1 if none."""
    return int(np.argmin(np.where(ok, score, np.inf))) if ok.any() else -1


def pssf(request: dict[str, float], view: PlacementView) -> int:
    """Previously selected servers first (after Han et al., IEEE TDSC 2017): a tenant's VM
    goes to a host its tenant holds now, else to one it held before, else to an empty host,
    else anywhere; best fit within each class. An attacker is thereby kept to the few hosts
    it was first given, however many VMs it launches."""
    score = _leftover(request, view)
    ok = view.feasible
    for prefer in (
        view.tenant_guests > 0,
        view.tenant_hosts_ever,
        view.tenants_on == 0,
        np.ones_like(ok),
    ):
        h = _best_of(ok & prefer, score)
        if h >= 0:
            return h
    return -1


def random_spread(request: dict[str, float], view: PlacementView) -> int:
    """Uniform among feasible hosts, but once a tenant holds ``tenant_spread`` hosts its VMs
    go (uniformly) to those while one has room: a tenant's footprint, and with it what an
    attacker's VMs can reach, stays small."""
    mine = view.feasible & (view.tenant_guests > 0)
    held = int(np.count_nonzero(view.tenant_guests > 0))
    pool = mine if held >= view.tenant_spread and mine.any() else view.feasible
    idx = np.flatnonzero(pool)
    return int(idx[view.rng.integers(len(idx))]) if idx.size else -1


def tenant_cap(request: dict[str, float], view: PlacementView) -> int:
    """Best fit among hosts where the guest's tenant is already, or that hold fewer than
    ``tenant_cap`` distinct tenants: no host ever holds more than ``tenant_cap`` tenants."""
    ok = view.feasible & ((view.tenant_guests > 0) | (view.tenants_on < view.tenant_cap))
    return _best_of(ok, _leftover(request, view))


register("placement", "pssf", pssf)
register("placement", "random_spread", random_spread)
register("placement", "tenant_cap", tenant_cap)
