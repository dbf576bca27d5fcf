"""Named random streams, spawned from the scenario's seed.

Every consumer of randomness draws from its own stream, found by name: adding a consumer or
drawing more from one never changes what another draws. A name maps to the spawn key of a
``numpy.random.SeedSequence`` of the seed; the keys are those of earlier releases of vsim, so
that the same seed keeps giving the same runs.
"""

from __future__ import annotations

import numpy as np

#: Spawn key of each named stream. Sub-streams append their own indices to it.
STREAM_KEYS: dict[str, tuple[int, ...]] = {
    "placement": (0,),
    "workloads": (1,),
    "services": (2,),  # one sub-stream per service guest, keyed by its index
    "consolidation": (3,),  # random VM selection (RS)
    "failures": (7,),  # sub-streams (kind, index): host, domain or guest failure processes
    "deployments": (8,),  # sub-streams (deployment, 0: arrivals | 1: load balancer)
    "failure_replay": (17,),  # one sub-stream per failures.replay entry (OpenDC host draw)
    "request_rows": (9,),  # which requests the table keeps once it holds output.request_rows
}


class RandomStreams:
    """The named streams of one run."""

    def __init__(self, seed: int):
        self.seed = seed

    def sequence(self, name: str, *sub: int) -> np.random.SeedSequence:
        """The seed sequence of stream ``name`` (or of its sub-stream ``sub``)."""
        try:
            key = STREAM_KEYS[name]
        except KeyError:
            raise KeyError(
                f"no random stream named {name!r}; streams: {sorted(STREAM_KEYS)}"
            ) from None
        return np.random.SeedSequence(self.seed, spawn_key=(*key, *sub))

    def generator(self, name: str, *sub: int) -> np.random.Generator:
        """A generator drawing from stream ``name`` (or its sub-stream ``sub``)."""
        return np.random.default_rng(self.sequence(name, *sub))
