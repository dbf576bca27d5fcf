"""What time slices cost the guests of a run under ``scheduler.cpu: timeslice``.

A host is **sliced** while its runnable vCPUs outnumber its cores and the guests ask for more
useful CPU than it can deliver in slices. Then the cores never idle: each core runs a quantum
``q``, switches to the next waiting vCPU (``switch_cost`` ``s`` seconds in which nobody runs)
and the incoming slice spends its first ``cache_refill`` ``r`` seconds refilling caches, so a
core does ``(q - r) / (q + s)`` of a second of useful work per second
(:func:`vsim.core.timeslice.schedule_host` gives exactly that with busy vCPUs, and
tests/core/test_timeslice.py checks it). The solve shares that reduced capacity by weighted
max-min, so the guests' delivered CPU, their unmet demand and everything that follows from it
(jobs' progress, request rates) carry the switch loss; the host's CPU in use is its whole
capacity, the lost part included.

A host whose runnable vCPUs each have a core, or whose guests ask for no more than the reduced
capacity, is not sliced: every guest gets its request, as in the fluid mode (the switch loss,
if any, is taken from idle core time). The two rules meet where the requests equal the reduced
capacity, so a guest's grant is continuous in the demand. A guest counts all its vCPUs as
runnable while it asks for CPU (its demand is spread over them, as in the slice schedule of
:mod:`vsim.model.timeslice`); containers inside a VM run on the VM's vCPUs.
"""

from __future__ import annotations

import numpy as np


def switch_factor(cfg) -> float | None:
    """Useful core time per core second on a sliced host, ``(q - r) / (q + s)``; None when
    slices cost nothing (the capacity is then the fluid one)."""
    q, s, r = cfg.quantum, cfg.switch_cost, cfg.cache_refill
    if s == 0 and r == 0:
        return None
    return (q - r) / (q + s)


def sliced(factor: float, capacity, cores, vcpus, request):
    """Whether a host is sliced (see the module): ``vcpus`` runnable vCPUs on ``cores``
    asking for ``request`` MIPS of a host of ``capacity`` MIPS. Scalars or arrays."""
    return (vcpus > cores) & (request > capacity * factor)


def host_capacities(factor: float, capacity, cores, host, vcpus, request, nh: int):
    """Each host's CPU capacity for the solve (reduced by ``factor`` where sliced) and
    whether it is sliced; ``host``, ``vcpus`` and ``request`` are per running guest."""
    asking = request > 0
    n_vcpus = np.bincount(host[asking], vcpus[asking], minlength=nh)
    total = np.bincount(host, request, minlength=nh)
    cut = sliced(factor, capacity, cores, n_vcpus, total)
    return np.where(cut, capacity * factor, capacity), cut


def lost_mips(factor: float, granted):
    """Core MIPS a sliced host loses to switches and refills while it grants ``granted``."""
    return granted * (1.0 / factor - 1.0)
