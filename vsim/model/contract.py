"""What a subsystem may rely on and must provide: the engine's contract with its controllers.

A *controller* (migration, services, failures and HA, consolidation, a user's own) attaches to
an engine and from then on uses only its public surface:

- read-only views of the state: ``engine.guests``, ``engine.hosts`` (their tables are the
  engine's to write), ``engine.rate``, ``engine.host_rate``, ``engine.want``,
  ``engine.cpu_request``, ``engine.transfers`` (running migrations), ``engine.now``,
  ``engine.integral(column, g)`` (a guest's rate integrated from the start);
- commands: ``place_and_boot``, ``start``, ``stop``, ``pause``, ``resume``, ``delete``,
  ``fail_host``, ``repair_host``, ``crash_guest``, ``restart``, ``migrate``, ``switch_on``,
  ``switch_off``, ``resize`` (a guest's vCPUs and memory; growth only where its host has
  room), ``add_demand``, ``add_cpu_overhead``, ``set_shares``, ``set_power``,
  ``count_event``, the ``placement_limits`` context manager, and ``engine.resolve`` (the
  re-solve decision);
- hooks: the :class:`Signals` below, which the engine emits after the change they name.

A controller reports what it measured through :meth:`Controller.summary`: columns that the run
appends to its summary, in the order the controllers were attached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Controller(Protocol):
    """A subsystem plugged into the engine."""

    name: str

    def summary(self) -> dict[str, Any]:
        """Summary columns this controller adds to the run's (empty when it has none)."""
        ...


class Signal:
    """A hook: callbacks connected to it run, in the order connected, each time it fires."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable[..., None]] = []

    def connect(self, callback: Callable[..., None]) -> None:
        """Call ``callback(*args)`` whenever the signal fires with ``args``."""
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., None]) -> None:
        self._callbacks.remove(callback)

    def __bool__(self) -> bool:
        return bool(self._callbacks)

    def emit(self, *args: object) -> None:
        for callback in list(self._callbacks):
            callback(*args)


class Signals:
    """Every hook of the engine, named for the change after which it fires.

    - ``trace_stepped(now)``: the trace-driven demands were stepped to their sample at ``now``
      (before the re-solve that follows);
    - ``guests_placed(idx)``: guests were given a host (placed, booting from now);
    - ``guests_down(idx)``: guests went down (a host failure or a crash); they hold no host;
    - ``guests_stopped(idx)``: guests were stopped (or deleted); they hold no host;
    - ``host_state(h, state)``: host ``h`` changed power or failure state;
    - ``migration_finished(migration)``: a live migration ended, its guest on the destination.
    """

    def __init__(self) -> None:
        self.trace_stepped = Signal("trace_stepped")
        self.guests_placed = Signal("guests_placed")
        self.guests_down = Signal("guests_down")
        self.guests_stopped = Signal("guests_stopped")
        self.host_state = Signal("host_state")
        self.migration_finished = Signal("migration_finished")


class Transfers(Protocol):
    """What the solve needs of running migrations (implemented by the migrator).

    ``arrays()`` gives the running migrations as arrays; the other queries take that snapshot
    so that one solve reads one consistent state.
    """

    active: dict

    def touches(self, h: int) -> bool: ...

    def migrating(self, g: int) -> bool: ...

    def receives(self, h: int) -> bool: ...

    def advance_to(self, now: float) -> None: ...

    def arrays(self) -> Any: ...

    def extra_memory(self, a: Any) -> tuple[np.ndarray, np.ndarray]: ...

    def cpu_consumers(self, a: Any) -> tuple[np.ndarray, np.ndarray]: ...

    def slowdown(self, a: Any) -> tuple[np.ndarray, np.ndarray]: ...

    def paused_guests(self, a: Any) -> np.ndarray: ...

    def receiving(self, a: Any) -> np.ndarray: ...

    def routes(self, a: Any) -> tuple[np.ndarray, np.ndarray]: ...

    def demand(self) -> float: ...

    def set_rates(self, rates: np.ndarray) -> None: ...

    def cancel_for(self, g: int) -> None: ...

    def start(self, g: int, dst: int, via: int = -1) -> bool: ...


class NoTransfers:
    """The transfers of an engine without a migrator: nothing ever moves."""

    active: dict = {}

    def touches(self, h: int) -> bool:
        return False

    def migrating(self, g: int) -> bool:
        return False

    def receives(self, h: int) -> bool:
        return False

    def advance_to(self, now: float) -> None:
        return None

    def cancel_for(self, g: int) -> None:
        return None

    def start(self, g: int, dst: int, via: int = -1) -> bool:
        raise RuntimeError("this engine has no migrator: attach one to migrate guests")

    def __iter__(self) -> Iterator[Any]:
        return iter(())


class EngineState(Protocol):
    """The state the solvers read and write (the engine implements it; solvers take it rather
    than the engine class, so that they need not import it)."""

    scenario: Any
    env: Any
    guests: Any
    hosts: Any
    want: dict[str, np.ndarray]
    want_rows: np.ndarray
    jobs: Any
    transfers: Transfers
    fabric: Any
    protocol: Any
    driver: Any  # Xen driver domains (vsim.model.driver_domain), None without split drivers
    power: Any
    guest_rates: Any
    host_rates: Any
    last: Any
    watch: Any
    any_nested: bool
    has_children: np.ndarray
    static_rows: np.ndarray | None
    slice_factor: float | None  # scheduler.cpu: timeslice (vsim.model.slicing)

    @property
    def rate(self) -> dict[str, np.ndarray]: ...

    @property
    def host_rate(self) -> dict[str, np.ndarray]: ...

    def sample_elapsed(self) -> float: ...
