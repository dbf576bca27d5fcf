"""Request-level service workloads: arrivals, per-request demand distributions, workers, queues.

A service workload turns each guest that runs it into a station: requests arrive (open loop or
from closed-loop users), wait for a worker, run their CPU work under processor sharing with all
other work the guest's vCPUs get from the host, then do their disk and network I/O, and either
leave or go on to the next tier.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from vsim.scenario.base import Strict, existing_path
from vsim.scenario.dirty import DirtyPages
from vsim.scenario.units import parse_duration

Seconds = Annotated[float, BeforeValidator(lambda v: parse_duration(v))]


class Distribution(Strict):
    """A non-negative random quantity. A bare number in a scenario means ``deterministic``.

    - ``exponential``: ``mean``.
    - ``deterministic``: ``mean`` (always that value).
    - ``lognormal``: ``mean`` and coefficient of variation ``cv``.
    - ``hyperexponential``: a mix of exponentials with ``means`` chosen with ``probs``.
    - ``empirical``: ``values`` drawn uniformly.
    """

    dist: Literal["exponential", "deterministic", "lognormal", "hyperexponential", "empirical"] = (
        Field(description="exponential, deterministic, lognormal, hyperexponential or empirical")
    )
    mean: float | None = Field(None, ge=0, description="mean value")
    cv: float | None = Field(None, gt=0, description="lognormal: coefficient of variation")
    means: list[float] | None = Field(None, description="hyperexponential: mean of each branch")
    probs: list[float] | None = Field(
        None, description="hyperexponential: probability of each branch"
    )
    values: list[float] | None = Field(
        None, description="empirical: the values drawn from, uniformly"
    )

    @model_validator(mode="before")
    @classmethod
    def _number_is_deterministic(cls, data: object) -> object:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"dist": "deterministic", "mean": data}
        return data

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        need = {
            "exponential": ("mean",),
            "deterministic": ("mean",),
            "lognormal": ("mean", "cv"),
            "hyperexponential": ("means", "probs"),
            "empirical": ("values",),
        }[self.dist]
        missing = [p for p in need if getattr(self, p) is None]
        if missing:
            raise ValueError(f"a {self.dist} distribution needs {', '.join(need)}")
        if self.dist == "hyperexponential":
            if len(self.means) != len(self.probs) or not self.means:  # type: ignore[arg-type]
                raise ValueError("means and probs need the same, non-zero length")
            if any(p < 0 for p in self.probs) or abs(sum(self.probs) - 1) > 1e-9:  # type: ignore[union-attr]
                raise ValueError("probs must be non-negative and sum to 1")
            if any(m < 0 for m in self.means):  # type: ignore[union-attr]
                raise ValueError("means must be non-negative")
        if self.dist == "empirical" and (not self.values or min(self.values) < 0):
            raise ValueError("values must be a non-empty list of non-negative numbers")
        return self

    def moments(self) -> tuple[float, float]:
        """E[X] and E[X^2] (for queueing formulas)."""
        if self.dist == "exponential":
            m = self.mean or 0.0
            return m, 2 * m * m
        if self.dist == "deterministic":
            m = self.mean or 0.0
            return m, m * m
        if self.dist == "lognormal":
            m, cv = self.mean or 0.0, self.cv or 0.0
            return m, m * m * (1 + cv * cv)
        if self.dist == "hyperexponential":
            pairs = list(zip(self.probs or [], self.means or [], strict=True))
            return sum(p * m for p, m in pairs), sum(2 * p * m * m for p, m in pairs)
        vals = self.values or []
        return sum(vals) / len(vals), sum(v * v for v in vals) / len(vals)


Dist = Annotated[Distribution, Field(description="a distribution, or a number (deterministic)")]
ZERO = Distribution(dist="deterministic", mean=0.0)


class Arrivals(Strict):
    """How requests arrive at each guest of the first tier.

    - ``poisson``: ``rate`` per second.
    - ``mmpp``: Markov-modulated Poisson: ``rates`` per state and ``switch`` (rate of leaving
      each state, per second, for the next state in a cycle); bursts come from high-rate states.
    - ``diurnal``: Poisson with rate ``mean * (1 + amplitude * sin(2 pi t / period))``.
    - ``trace``: replay of arrival timestamps (seconds, one per line) from ``path``.
    - ``closed``: ``users`` clients, each waiting ``think`` after its previous response.
    """

    process: Literal["poisson", "mmpp", "diurnal", "trace", "closed"] = Field(
        description="poisson, mmpp, diurnal, trace or closed (see the section)"
    )
    rate: float | None = Field(None, gt=0, description="poisson: requests per second")
    rates: list[float] | None = Field(None, description="mmpp: requests per second in each state")
    switch: list[float] | None = Field(
        None, description="mmpp: rate of leaving each state, per second"
    )
    mean: float | None = Field(None, gt=0, description="diurnal: mean requests per second")
    amplitude: float = Field(0.0, ge=0, le=1, description="diurnal: relative swing around the mean")
    period: Seconds = Field(86400.0, gt=0, description="diurnal: length of one cycle, s")
    path: str | None = Field(None, description="trace: file of arrival times")
    users: int | None = Field(None, gt=0, description="closed: number of users")
    think: Dist = ZERO
    retry_after: Seconds = Field(
        1.0, gt=0, description="a closed-loop user whose request failed waits at least this"
    )

    @model_validator(mode="after")
    def _parameters(self) -> Arrivals:
        need = {
            "poisson": ("rate",),
            "mmpp": ("rates", "switch"),
            "diurnal": ("mean",),
            "trace": ("path",),
            "closed": ("users",),
        }[self.process]
        missing = [p for p in need if getattr(self, p) is None]
        if missing:
            raise ValueError(f"{self.process} arrivals need {', '.join(need)}")
        if self.process == "mmpp":
            r, s = self.rates or [], self.switch or []
            if len(r) != len(s) or len(r) < 2:
                raise ValueError("mmpp needs rates and switch of one length, 2 or more states")
            if min(r) < 0 or min(s) <= 0:
                raise ValueError("mmpp rates must be >= 0 and switch rates > 0")
        return self

    @field_validator("path")
    @classmethod
    def _exists(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else existing_path(v, info, "arrival trace")

    def mean_rate(self) -> float:
        """Long-run arrivals per second (open loop)."""
        if self.process == "poisson":
            return self.rate or 0.0
        if self.process == "diurnal":
            return self.mean or 0.0
        if self.process == "mmpp" and self.rates and self.switch:
            # Stationary probabilities of a cyclic two-or-more-state chain leaving state i at
            # switch[i] are proportional to 1 / switch[i].
            w = [1 / s for s in self.switch]
            return sum(r * x for r, x in zip(self.rates, w, strict=True)) / sum(w)
        return math.nan


class ServiceWorkload(DirtyPages):
    """Guests serving requests: each request runs ``cpu`` MI, then ``disk_ops`` operations of
    ``disk_bytes`` in all, then sends ``net_bytes``; response time is measured from arrival
    at the first tier to the end of the last."""

    kind: Literal["service"] = Field(description="guests serving requests")
    arrivals: Arrivals | None = Field(None, description="none for a tier fed only by ``next``")
    cpu: Dist = Field(description="CPU work per request, million instructions")
    disk_ops: Dist = ZERO
    disk_bytes: Dist = ZERO
    net_bytes: Dist = ZERO
    workers: int | None = Field(None, gt=0, description="concurrent requests; none = unlimited")
    queue: int | None = Field(None, ge=0, description="waiting room; none = unbounded")
    timeout: Seconds | None = Field(None, gt=0, description="a waiting request gives up after")
    next: str | None = Field(None, description="guest group serving the next tier")
    slo: Seconds | None = Field(None, gt=0, description="latency target for the violation share")
    record: float = Field(1.0, ge=0, le=1, description="share of requests kept in requests table")
    warmup: Seconds = Field(0.0, ge=0, description="requests arriving earlier are not counted")
    mode: Literal["requests", "analytic"] = Field(
        "requests", description="requests: every request simulated; analytic: closed-form queues"
    )
    memory: float = Field(1.0, ge=0, le=1, description="fraction of the guest's memory in use")
    profile: str | dict[str, float] | None = Field(
        None, description="a virtualization cost profile for this workload; none: the guest's"
    )

    @model_validator(mode="after")
    def _analytic_needs_open_arrivals(self) -> ServiceWorkload:
        if self.mode == "analytic":
            ok = ("poisson", "mmpp", "diurnal")
            if self.arrivals is None or self.arrivals.process not in ok or self.next:
                raise ValueError(
                    f"mode analytic needs open-loop arrivals ({', '.join(ok)}) and no next tier"
                )
        return self
