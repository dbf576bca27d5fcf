"""Closed-form schedule of a pre-copy live migration (uncontended link, constant dirty rate).

The algorithm is the iterative pre-copy of Clark et al., "Live Migration of Virtual Machines",
NSDI 2005 (section 3): round 0 pushes all of the guest's memory while it keeps running; each
later round pushes the pages the guest dirtied during the previous round; when the remainder is
small enough the guest is paused and the remainder plus CPU/device state is sent
(stop-and-copy), which is the downtime. With a constant dirty rate the rounds form a geometric
series, as analysed by Akoush et al., "Predicting the performance of virtual machine
migration", MASCOTS 2010, and Liu et al., "Performance and energy modeling for live migration
of virtual machines", HPDC 2011:

* ``V_0 = M`` (memory size), ``T_i = V_i / B`` (bandwidth ``B``);
* ``V_{i+1} = min(D * T_i, W, M)``: the bytes dirtied at rate ``D`` during round ``i``, at most
  the writable working set ``W`` (Clark et al. section 3: a hot set of pages is rewritten no
  matter how often it is sent, so a round never needs to resend more than it) and at most the
  memory;
* without caps and with ``r = D / B < 1``: ``V_i = M r^i``; if pre-copy stops after round
  ``n`` the live phase takes ``(M / B) (1 - r^(n+1)) / (1 - r)``, the downtime is
  ``(M r^(n+1) + S) / B`` (``S`` device state), and in all ``M (1 - r^(n+2)) / (1 - r) + S``
  bytes are sent.

Stopping rules, checked after each pre-copy round ``i`` against the next remainder
``V_{i+1}``:

1. ``"downtime"``: ``V_{i+1} / B <= max_downtime`` (QEMU's ``downtime-limit``, default 300 ms)
   -- converged;
2. ``"no_progress"``: the remainder did not shrink enough, ``V_{i+1} >= (1 - min_shrink) * V_i``
   (``min_shrink=0`` stops as soon as a round does not shrink the remainder, which happens at
   once when ``D >= B`` or when the rounds are stuck at the writable working set; ``None``
   disables this rule);
3. ``"max_rounds"``: ``max_rounds`` pre-copy rounds (round 0 included) have been sent (Xen's
   default was 29 iterations plus the last one; here 30 in all by default).

Round 0 is always sent, even when the whole memory would fit the downtime budget: QEMU and Xen
always start with a full bulk pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PrecopyResult", "precopy_schedule"]


@dataclass(frozen=True, eq=False)
class PrecopyResult:
    """Outcome of :func:`precopy_schedule`.

    Attributes
    ----------
    round_bytes, round_time:
        float64[rounds], bytes sent and duration (s) of each live pre-copy round (round 0
        first). The stop-and-copy phase is not included.
    live_time:
        total duration of the pre-copy rounds (s); the guest runs meanwhile.
    downtime:
        duration of stop-and-copy (s): ``(remainder + device_state) / bandwidth``.
    stop_bytes:
        bytes sent during stop-and-copy (remainder + device state).
    total_time, total_bytes:
        ``live_time + downtime`` and all bytes sent.
    rounds:
        number of pre-copy rounds (``len(round_bytes)``, ``>= 1``).
    converged:
        ``True`` when pre-copy stopped because the remainder fit the downtime budget.
    stop_reason:
        ``"downtime"``, ``"no_progress"`` or ``"max_rounds"``.
    """

    round_bytes: np.ndarray
    round_time: np.ndarray
    live_time: float
    downtime: float
    stop_bytes: float
    total_time: float
    total_bytes: float
    rounds: int
    converged: bool
    stop_reason: str


def precopy_schedule(
    memory: float,
    bandwidth: float,
    dirty_rate: float,
    *,
    max_downtime: float = 0.3,
    max_rounds: int = 30,
    wws: float | None = None,
    device_state: float = 0.0,
    min_shrink: float | None = 0.0,
    latency: float = 0.0,
) -> PrecopyResult:
    """Schedule of a pre-copy live migration on a dedicated link (see the module docstring).

    Parameters
    ----------
    memory:
        guest memory ``M`` to transfer (bytes, ``>= 0``).
    bandwidth:
        migration bandwidth ``B`` (bytes/s, ``> 0``).
    dirty_rate:
        rate ``D`` at which the running guest dirties memory (bytes/s, ``>= 0``).
    max_downtime:
        downtime budget (s): pre-copy stops once the remainder can be sent within it.
    max_rounds:
        maximum number of pre-copy rounds, round 0 included (``>= 1``).
    wws:
        writable working set ``W`` (bytes): no round resends more than this; ``None`` for no
        bound other than ``memory``.
    device_state:
        bytes of CPU and device state sent during stop-and-copy.
    min_shrink:
        required relative shrink of the remainder per round (``0`` = it must not grow or stay
        equal); ``None`` disables the non-convergence check.
    latency:
        seconds each transfer (every round, and the stop-and-copy when it sends anything)
        waits before its bytes move, the guest dirtying memory meanwhile: ``T_i = L + V_i / B``
        (a transport protocol's startup; 0 for the series above).
    """
    if not (memory >= 0 and math.isfinite(memory)):
        raise ValueError(f"memory must be finite and >= 0, got {memory}")
    if not (bandwidth > 0 and math.isfinite(bandwidth)):
        raise ValueError(f"bandwidth must be finite and > 0, got {bandwidth}")
    if not (dirty_rate >= 0 and math.isfinite(dirty_rate)):
        raise ValueError(f"dirty_rate must be finite and >= 0, got {dirty_rate}")
    if max_rounds < 1:
        raise ValueError("max_rounds must be >= 1")
    if max_downtime < 0 or device_state < 0 or latency < 0 or (wws is not None and wws < 0):
        raise ValueError("max_downtime, device_state, latency and wws must be >= 0")
    if min_shrink is not None and not 0 <= min_shrink < 1:
        raise ValueError("min_shrink must be in [0, 1) or None")

    cap = memory if wws is None else min(memory, wws)
    sent: list[float] = [float(memory)]
    reason = "max_rounds"
    while True:
        duration = sent[-1] / bandwidth + latency
        remainder = min(dirty_rate * duration, cap)
        if remainder / bandwidth <= max_downtime:
            reason = "downtime"
            break
        if min_shrink is not None and remainder >= (1.0 - min_shrink) * sent[-1]:
            reason = "no_progress"
            break
        if len(sent) >= max_rounds:
            break  # checked last: a remainder that fits the budget converges on the last round
        sent.append(remainder)

    round_bytes = np.asarray(sent, dtype=np.float64)
    round_time = round_bytes / bandwidth + latency
    live_time = float(round_time.sum())
    stop_bytes = remainder + device_state
    downtime = stop_bytes / bandwidth + (latency if stop_bytes > 0 else 0.0)
    return PrecopyResult(
        round_bytes=round_bytes,
        round_time=round_time,
        live_time=live_time,
        downtime=downtime,
        stop_bytes=stop_bytes,
        total_time=live_time + downtime,
        total_bytes=float(round_bytes.sum()) + stop_bytes,
        rounds=len(sent),
        converged=reason == "downtime",
        stop_reason=reason,
    )
