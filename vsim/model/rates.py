"""What the engine tracks per guest and host, and the constants its solvers share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vsim.metrics import GUEST_COLUMNS

PAGE_BYTES = 4096  # swap-in reads one page per I/O operation
CPU, IO, NET, DONE = 0, 1, 2, 3  # phases of a batch job
# What a guest wants while running: CPU as a fraction of its vCPUs, memory as a fraction of its
# size, disk and network in bytes/s, IOPS in operations/s.
WANTS = ("cpu", "memory", "disk", "iops", "net")
# Recorded per sample, plus what the consolidation metrics integrate: useful CPU a migration
# takes from its guest, and CPU a guest wants while paused for a stop-and-copy.
GUEST_RATES = (*GUEST_COLUMNS, "cpu_migration_loss_mips", "cpu_paused_want_mips")
# The guest rates a one-host solve sets: all but the network (solved across hosts) and what
# migrations take (only the full solve sees migrations). They lead GUEST_RATES, so that solve
# writes one block of rows.
HOST_SOLVED = GUEST_RATES[: GUEST_RATES.index("net_bps")]
assert GUEST_RATES[len(HOST_SOLVED) :] == (
    "net_bps",
    "cpu_migration_loss_mips",
    "cpu_paused_want_mips",
)
# Host "on", "on_busy" (on with CPU in use), "saturated" (at 100 % CPU) and "short" (on, and a
# guest gets less CPU than it asks, migration losses aside, or a migration is arriving: what
# CloudSim counts as an SLA violation) integrate to times.
HOST_RATES = (
    "cpu",
    "hypervisor",
    "mem",
    "disk",
    "net",
    "power",
    "on",
    "on_busy",
    "saturated",
    "short",
)
SHORT = 1 - 1e-9  # a guest getting less than this share of its CPU demand is short of it
SATURATED = 1 - 1e-9  # CPU use at or above this share of capacity counts as 100 %


class RateTable:
    """Current rates of every guest (or host), constant until the next change, and their
    integrals: over the current sample (``acc``), per entry over the run (``cum``), summed over
    entries over the run (``total``).

    Rates and sample integrals are rows of one 2-D array each (``rows``, ``acc_rows``), so that
    a subset's entries are updated in all columns by one indexing. Integration is lazy: the
    sample's integral is taken at its end at the rate then current, and each change in between
    adds ``(old - new) x (time since the sample started)`` to the entries that changed.
    """

    def __init__(self, names: tuple[str, ...], n: int):
        self.names = names
        self.rows = np.zeros((len(names), n))
        self.acc_rows = np.zeros((len(names), n))
        self.rate = dict(zip(names, self.rows, strict=True))
        self.acc = dict(zip(names, self.acc_rows, strict=True))
        self.cum = {c: np.zeros(n) for c in names}
        self.total = dict.fromkeys(names, 0.0)
        #: Scalar access to the current rates, by column: memoryviews of the rate rows (the
        #: same memory; Python floats in and out, about three times faster than NumPy's
        #: element access, for the per-request paths). Read them; the solvers write them.
        self.scalar = {c: memoryview(r) for c, r in self.rate.items()}
        self._acc_scalar = {c: memoryview(r) for c, r in self.acc.items()}

    def set_one(self, i: int, new: dict[str, float], w: float) -> None:
        """:meth:`set_rows` for a single entry, in scalar arithmetic (the per-request path)."""
        # (Python floats through memoryviews: the same IEEE operations as NumPy's, faster)
        rate, acc, total = self.scalar, self._acc_scalar, self.total
        for c, value in new.items():
            arr = rate[c]
            old = arr[i]
            if old != value:
                if w > 0:
                    d = (old - value) * w
                    acc[c][i] += d
                    total[c] += d
                arr[i] = value

    def set_rows(self, idx: slice | np.ndarray, values: np.ndarray, w: float) -> None:
        """Set the first ``len(values)`` rate rows of the entries ``idx`` (indices, or
        ``slice(None)`` for all) to ``values`` from now on, ``w`` seconds into the sample,
        correcting the sample integrals so that each old rate counts up to now."""
        k = len(values)
        rows, acc_rows = self.rows[:k], self.acc_rows[:k]
        if w > 0:
            if isinstance(idx, slice):
                d = rows[:, idx] - values
                acc_rows[:, idx] += d * w
            else:
                # (take and one assignment: a fancy-indexed += reads and writes through idx)
                d = rows.take(idx, axis=1) - values
                acc = acc_rows.take(idx, axis=1)
                acc += d * w
                acc_rows[:, idx] = acc
            moved = (np.add.reduce(d, axis=1) * w).tolist()
            for c, m in zip(self.names[:k], moved, strict=True):
                self.total[c] += m
        rows[:, idx] = values

    def close_sample(self, span: float) -> dict[str, np.ndarray]:
        """Integrate the sample of length ``span`` that ends now into the run's integrals;
        returns the sample's integrals (valid until :meth:`clear_sample`)."""
        for c, rate in self.rate.items():
            self.acc[c] += rate * span
            self.total[c] += float(rate.sum()) * span
            self.cum[c] += self.acc[c]
        return self.acc

    def clear_sample(self) -> None:
        self.acc_rows.fill(0.0)


class LastSolve:
    """What the last solve found, kept for the paths that change one guest or one host
    without a new solve: per guest its CPU cap, request and grant (host MIPS, overhead
    included) and swapped share; per host the CPU its guests request; which guests get less
    CPU than they ask (``short``) and how many per host."""

    def __init__(self, n_guests: int, n_hosts: int):
        # Rows of one array, so that a one-host solve writes them in one indexing.
        self.kept = np.zeros((4, n_guests))
        self.cpu_cap, self.cpu_request, self.cpu_grant, self.swap_frac = self.kept
        self.host_request = np.zeros(n_hosts)
        self.short = np.zeros(n_guests, dtype=bool)
        self.n_short = np.zeros(n_hosts, dtype=np.int64)
        # Scalar access for the single-guest path (memoryviews of the same arrays).
        self.request_v, self.grant_v = memoryview(self.cpu_request), memoryview(self.cpu_grant)
        self.host_request_v = memoryview(self.host_request)


class UsefulRateWatch:
    """Callbacks run when the useful CPU rate of a watched guest changes (request-level
    services re-plan their requests' completions then)."""

    def __init__(self, n: int):
        self.callbacks: dict[int, Callable[[], None]] = {}
        self.guests = np.zeros(0, dtype=np.int64)
        self.seen = np.zeros(n)  # the useful rate each watched guest was last told of
        self._seen = memoryview(self.seen)  # (scalar access, same memory)

    def add(self, g: int, callback: Callable[[], None]) -> None:
        self.callbacks[g] = callback
        self.guests = np.array(sorted(self.callbacks), dtype=np.int64)

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def changed(self, gi: np.ndarray | None, useful: np.ndarray) -> None:
        """After a solve of the guests ``gi`` (None: all) whose useful rates are now the
        engine's ``useful`` row: notify the watched ones whose rate changed."""
        st = self.guests if gi is None else gi[np.isin(gi, self.guests)]
        now_useful = useful[st]
        moved = st[now_useful != self.seen[st]]
        self.seen[st] = now_useful
        for i in moved:
            self.callbacks[int(i)]()

    def changed_list(self, idx: list[int], useful: list[float]) -> None:
        """:meth:`changed` for guests ``idx`` and their new rates, in scalar arithmetic."""
        callbacks, seen = self.callbacks, self._seen
        for i, u in zip(idx, useful, strict=True):
            if i in callbacks and u != seen[i]:
                seen[i] = u
                callbacks[i]()
