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
        self.pick = make_policy(policy, self.uniforms)
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
        req.server = st.g
        self.sent[st.g] = self.sent.get(st.g, 0) + 1
        st.arrive(req)

    def ended(self, req: Request, status: str, now: float) -> None:
        self.outcomes[status] = self.outcomes.get(status, 0) + 1
        ok = status == "completed"
        if ok:
            self.done[req.server] = self.done.get(req.server, 0) + 1
            self.latency.append(now - req.arrival)
            self.ended_at.append(now)
        hits = self.slo_hits.setdefault(self.phase_of(req.arrival), [0, 0])
        hits[0] += 1
        hits[1] += not ok or (self.slo is not None and now - req.arrival > self.slo)

    def pick_version(self) -> float:
        """A uniform draw deciding a canary's share."""
        return self.uniforms.index(2**31) / 2**31

    def latencies_since(self, start: int) -> np.ndarray:
        """Latencies completed from the ``start``-th on."""
        return np.frombuffer(self.latency, dtype=np.float64)[start:].copy()
