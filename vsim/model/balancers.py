"""Load balancers: the front of a deployment, choosing a ready replica for each request.

The policies see the ready replicas (request stations) in a stable order and what each holds
now (``n_here``: requests queued or in service, the "outstanding requests" of a proxy):

- ``round_robin``: the next replica in turn;
- ``random``: one uniformly at random;
- ``least_outstanding``: the one with the fewest outstanding requests (ties in turn);
- ``power_of_two``: the better of two distinct replicas drawn at random (Mitzenmacher 2001,
  "The power of two choices in randomized load balancing", IEEE TPDS 12(10)).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from vsim.model.services import Request, Station

if TYPE_CHECKING:
    from vsim.model.engine import Engine


class Uniforms:
    """Uniform draws on [0, 1), one NumPy call per block."""

    BLOCK = 4096

    def __init__(self, rng: np.random.Generator):
        self.rng, self.buf = rng, []

    def index(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        if not self.buf:
            self.buf = self.rng.random(self.BLOCK).tolist()
        return int(self.buf.pop() * n)


Policy = Callable[[Sequence[Station]], Station]


def make_policy(name: str, u: Uniforms) -> Policy:
    """The balancing policy ``name`` (see the module's list)."""
    turn = [0]

    def round_robin(ready: Sequence[Station]) -> Station:
        turn[0] += 1
        return ready[turn[0] % len(ready)]

    def random(ready: Sequence[Station]) -> Station:
        return ready[u.index(len(ready))]

    def least_outstanding(ready: Sequence[Station]) -> Station:
        # The first replica with the fewest requests, scanning from a start that turns by one
        # each request (so ties rotate); the scan itself is list.index, in C.
        n = len(ready)
        turn[0] += 1
        here = [st.n_here for st in ready]
        low, start = min(here), turn[0] % n
        try:
            return ready[here.index(low, start)]
        except ValueError:
            return ready[here.index(low)]

    def power_of_two(ready: Sequence[Station]) -> Station:
        n = len(ready)
        if n == 1:
            return ready[0]
        i = u.index(n)
        j = u.index(n - 1)
        a, b = ready[i], ready[j + (j >= i)]
        return b if b.n_here < a.n_here else a

    return {
        "round_robin": round_robin,
        "random": random,
        "least_outstanding": least_outstanding,
        "power_of_two": power_of_two,
    }[name]


class LeastOutstanding:
    """``least_outstanding`` over the balancer's own count of each replica's requests in
    flight (sent and not yet ended: what a proxy counts, and what the replica holds, since
    only its balancer sends it requests), kept in buckets by count so that a choice is a binary
    search, not a scan of every replica. The choice is the scan's over ``n_here``: the first of
    the fewest from a start that turns by one each request, else the first of the fewest.

    ``sent(g)`` and ``ended(g)`` keep the counts; each list of replicas it is asked about gets
    an index (positions by count), rebuilt when the balancer is given a new list.
    """

    KEEP = 2  # indexes of the latest lists kept (a canary's two halves; else the ready set)

    def __init__(self) -> None:
        self.turn = 0
        self.count: dict[int, int] = {}
        self.views: dict[int, _View] = {}

    def __call__(self, ready: Sequence[Station]) -> Station:
        v = self.views.get(id(ready))
        if v is None or v.ready is not ready:
            v = self._view(ready)
        self.turn += 1
        b = v.buckets[v.low]
        i = bisect.bisect_left(b, self.turn % len(ready))
        return ready[b[i] if i < len(b) else b[0]]

    def _view(self, ready: Sequence[Station]) -> _View:
        while len(self.views) >= self.KEEP:  # every move updates each kept index
            del self.views[next(iter(self.views))]
        v = self.views[id(ready)] = _View(ready, self.count)
        return v

    def sent(self, g: int) -> None:
        self._move(g, 1)

    def ended(self, g: int) -> None:
        self._move(g, -1)

    def _move(self, g: int, d: int) -> None:
        c = self.count.get(g, 0)
        self.count[g] = c + d
        for v in self.views.values():
            p = v.pos.get(g)
            if p is not None:
                v.move(p, c, c + d)


class _View:
    """One list of replicas by count: positions (ascending) per count, and the lowest count."""

    def __init__(self, ready: Sequence[Station], count: dict[int, int]):
        self.ready = ready
        self.pos = {st.g: i for i, st in enumerate(ready)}
        self.buckets: dict[int, list[int]] = {}
        for i, st in enumerate(ready):
            self.buckets.setdefault(count.get(st.g, 0), []).append(i)
        self.low = min(self.buckets)

    def move(self, p: int, old: int, new: int) -> None:
        b = self.buckets[old]
        del b[bisect.bisect_left(b, p)]
        bisect.insort(self.buckets.setdefault(new, []), p)
        if new < self.low:
            self.low = new
        elif old == self.low and not b:
            self.low = new  # (new = old + 1: nothing is below it)


class Front(Station):
    """A deployment's load balancer: its requests arrive here and go to a ready replica.

    ``choose()`` gives the replicas that may take a request now (the deployment controller's
    ready set, by version for a canary); a request that finds none is rejected, as a proxy
    without endpoints answers 503. Every request's replica and outcome are counted.
    """

    def __init__(self, sim: Engine, name: str, station: Station, rngs, choose, policy: str):
        # Arrivals and the balancer's draws come from separate streams, so that two policies
        # see the same arrivals (common random numbers).
        super().__init__(sim, station.g, station.spec, rngs[0], station.log, None)
        self.name = name
        self.choose = choose
        self.uniforms = Uniforms(rngs[1])
        self.outstanding = LeastOutstanding() if policy == "least_outstanding" else None
        self.pick = self.outstanding or make_policy(policy, self.uniforms)
        self.phase_of: Callable[[float], str | None] = lambda t: None
        self.slo_hits: dict[str | None, list[int]] = {}  # phase -> [requests, violations]
        self.latency = array("d")  # every completed latency, and when it ended
        self.ended_at = array("d")
        self.sent: dict[int, int] = {}  # replica guest -> requests sent
        self.done: dict[int, int] = {}  # replica guest -> requests completed
        self.outcomes: dict[str, int] = {}

    def arrive(self, req: Request) -> None:
        ready = self.choose()
        if not ready:
            self._end(req, "rejected")
            return
        st = self.pick(ready)
        g = req.server = st.g
        self.sent[g] = self.sent.get(g, 0) + 1
        if self.outstanding is not None:
            self.outstanding.sent(g)
        st.arrive(req)

    def ended(self, req: Request, status: str, now: float) -> None:
        if self.outstanding is not None and req.server >= 0:
            self.outstanding.ended(req.server)
        self.outcomes[status] = self.outcomes.get(status, 0) + 1
        ok = status == "completed"
        if ok:
            self.done[req.server] = self.done.get(req.server, 0) + 1
            self.latency.append(now - req.arrival)
            self.ended_at.append(now)
        phase = self.phase_of(req.arrival)
        hits = self.slo_hits.get(phase) or self.slo_hits.setdefault(phase, [0, 0])
        hits[0] += 1
        hits[1] += not ok or (self.slo is not None and now - req.arrival > self.slo)

    def pick_version(self) -> float:
        """A uniform draw deciding a canary's share."""
        return self.uniforms.index(2**31) / 2**31

    def latencies_since(self, start: int) -> np.ndarray:
        """Latencies completed from the ``start``-th on."""
        return np.frombuffer(self.latency, dtype=np.float64)[start:].copy()
