"""Deployments: replicated guests behind a load balancer, scaled and updated by a controller.

A deployment declares a *template* (a VM or a container running a request-level service), how
many replicas to run, how they spread over hosts, when a replica counts as ready, how its
requests are balanced, and optionally a horizontal autoscaler (in the manner of the Kubernetes
Horizontal Pod Autoscaler) and updates (rolling, blue-green or canary) to new templates.

The guest table of a run is fixed, so a deployment becomes one guest group per template
version, ``<name>-v<k>``, of as many guests as the deployment can ever run of one version
(:meth:`Deployment.slots`); those guests start only when the deployment controller
(:mod:`vsim.model.deployments`) asks.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from vsim.scenario.base import Strict
from vsim.scenario.units import Bytes, BytesPerSecond, Seconds

BALANCERS = ("round_robin", "random", "least_outstanding", "power_of_two")


class Template(Strict):
    """What one replica is. Fields not given in an update's template keep the previous one's."""

    kind: Literal["vm", "container"] = Field(
        "container", description="replicas are VMs or containers"
    )
    vcpus: float = Field(1.0, gt=0, description="vCPUs of a VM; a container's CPU limit, cores")
    vcpu_mips: float = Field(1000.0, gt=0, description="speed of one vCPU, MIPS")
    memory: Bytes = Field(gt=0, description="VM memory, or a container's memory limit")
    cpu_shares: float = Field(1024.0, gt=0, description="weight under contention (CFS shares)")
    workload: str = Field(description="a service workload (kind: service, mode: requests)")
    boot_time: Seconds = Field(0.0, ge=0, description="start-up time once placed, seconds")
    image_size: Bytes = Field(0.0, ge=0, description="image pulled before start-up, bytes")
    pull_bandwidth: BytesPerSecond = Field(
        1.25e8, gt=0, description="image pull rate, bytes/s (default 1 Gbit/s)"
    )

    def startup_s(self) -> float:
        """Seconds from placement to running: the image pull, then the start-up."""
        return self.boot_time + self.image_size / self.pull_bandwidth


class Autoscaler(Strict):
    """A horizontal autoscaler (Kubernetes HPA, autoscaling/v2 behaviour).

    Every ``sync_period`` it measures ``metric`` averaged over the ready replicas during the
    last ``window`` and recommends ``ceil(ready x current / target)`` replicas, or keeps the
    current count when ``|current / target - 1| <= tolerance``. The recommendation used is the
    highest of the last ``scale_down_window`` when scaling down and the lowest of the last
    ``scale_up_window`` when scaling up; one sync changes the count by at most the larger of
    ``max_up_pods`` and ``max_up_percent`` (down: ``max_down_percent``), then it is clamped to
    ``[min_replicas, max_replicas]``.
    """

    metric: Literal["cpu", "rps", "latency"] = Field(
        "cpu",
        description="cpu: mean CPU utilization of a replica (0-1); rps: requests per second "
        "per replica; latency: the `percentile` of latencies completed in the window, s",
    )
    target: float = Field(gt=0, description="target value of the metric")
    percentile: float = Field(0.99, gt=0, lt=1, description="for metric latency")
    min_replicas: int = Field(1, ge=1, description="fewest replicas the autoscaler keeps")
    max_replicas: int = Field(ge=1, description="most replicas the autoscaler starts")
    sync_period: Seconds = Field(15.0, gt=0, description="seconds between two decisions")
    window: Seconds | None = Field(None, gt=0, description="metric window; default sync_period")
    tolerance: float = Field(0.1, ge=0, description="no change within this relative band")
    scale_up_window: Seconds = Field(0.0, ge=0, description="scale-up stabilization, s")
    scale_down_window: Seconds = Field(300.0, ge=0, description="scale-down stabilization, s")
    max_up_pods: int = Field(4, ge=1, description="most replicas added per sync (with percent)")
    max_up_percent: float = Field(100.0, gt=0, description="most added per sync, % of current")
    max_down_percent: float = Field(100.0, gt=0, description="most removed per sync, %")

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaler:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) exceeds max_replicas ({self.max_replicas})"
            )
        return self


class VerticalAutoscaler(Strict):
    """A vertical autoscaler (Kubernetes Vertical Pod Autoscaler): it sizes the replicas'
    vCPUs (a container's CPU limit) and memory limit from their observed use.

    Every ``interval`` the recommender takes, for each ready replica, its mean CPU use over
    the interval (cores its vCPUs ran, overhead included) and its mean memory in use; over the
    samples of every replica in the last ``window`` the target is the ``cpu_percentile``
    (``memory_percentile``) times ``1 + margin``, rounded up to millicores (a VM: whole vCPUs)
    and MiB, and bounded by ``min_``/``max_vcpus`` and ``min_``/``max_memory`` (and the largest
    host). A replica is off target when a controlled size differs from it by more than
    ``tolerance`` (relative). ``mode``: ``off`` only recommends; ``initial`` sizes new
    replicas; ``recreate`` also evicts off-target ready replicas, which the deployment
    replaces with new ones of the target size; ``in_place`` resizes them on their host (with
    a restart in place if ``restart``), and evicts one whose growth does not fit there. At most
    ``eviction_tolerance`` of the desired replicas are evicted or restarted at a time (at
    least one), none while fewer than ``min_replicas`` are ready.
    """

    mode: Literal["off", "initial", "recreate", "in_place"] = Field(
        "in_place",
        description="off: recommend only; initial: size new replicas; recreate: evict "
        "off-target replicas; in_place: resize them where they run (Kubernetes "
        "InPlaceOrRecreate: evict when the host has no room)",
    )
    resources: list[Literal["cpu", "memory"]] = Field(
        ["cpu", "memory"], min_length=1, description="sizes it controls: cpu, memory or both"
    )
    interval: Seconds = Field(
        60.0, gt=0, description="seconds between two recommendations (and updates)"
    )
    window: Seconds = Field(3600.0, gt=0, description="samples older than this are forgotten, s")
    cpu_percentile: float = Field(0.9, gt=0, le=1, description="of the CPU use samples")
    memory_percentile: float = Field(0.9, gt=0, le=1, description="of the memory use samples")
    margin: float = Field(0.15, ge=0, description="safety margin on the percentile (0.15: +15 %)")
    tolerance: float = Field(
        0.1, ge=0, description="a replica within this relative band of the target is left alone"
    )
    min_vcpus: float = Field(0.001, gt=0, description="smallest vCPUs (CPU limit) recommended")
    max_vcpus: float | None = Field(
        None, gt=0, description="largest vCPUs recommended; none: the largest host's cores"
    )
    min_memory: Bytes = Field(2**20, gt=0, description="smallest memory limit recommended")
    max_memory: Bytes | None = Field(
        None, gt=0, description="largest memory limit recommended; none: the largest host's"
    )
    restart: bool = Field(
        False,
        description="in_place: the replica restarts on its host to resize (Kubernetes "
        "resizePolicy RestartContainer): in-flight requests fail, it serves again after "
        "start-up and readiness",
    )
    eviction_tolerance: float = Field(
        0.5, gt=0, le=1, description="share of the desired replicas evicted or restarted at once"
    )
    min_replicas: int = Field(
        2, ge=1, description="no eviction or restart while fewer replicas than this are ready"
    )

    @model_validator(mode="after")
    def _bounds(self) -> VerticalAutoscaler:
        for low, high in (("min_vcpus", "max_vcpus"), ("min_memory", "max_memory")):
            lo, hi = getattr(self, low), getattr(self, high)
            if hi is not None and lo > hi:
                raise ValueError(f"{low} ({lo:g}) exceeds {high} ({hi:g})")
        if len(set(self.resources)) < len(self.resources):
            raise ValueError(f"resources: {self.resources} names one twice")
        return self

    def evicts(self) -> bool:
        """Whether it may take replicas out of service (and so needs spare slots)."""
        return self.mode in ("recreate", "in_place")


class Update(Strict):
    """A change of template at ``at``: rolling (``max_surge``/``max_unavailable``), blue-green
    (all new replicas ready, then the switch) or canary (``canary_percent`` of requests to
    the new version for ``canary_for`` seconds, then a rolling update of the rest)."""

    at: Seconds = Field(ge=0, description="when the update starts, s")
    template: dict[str, Any] = Field({}, description="template fields that change")
    strategy: Literal["rolling", "blue_green", "canary"] = Field(
        "rolling", description="rolling, blue_green or canary (see the section)"
    )
    max_surge: int = Field(1, ge=0, description="replicas above `replicas` during the update")
    max_unavailable: int = Field(0, ge=0, description="ready replicas below `replicas` allowed")
    canary_percent: float = Field(10.0, gt=0, lt=100, description="share of requests, %")
    canary_for: Seconds = Field(300.0, ge=0, description="canary phase once its replicas ready")

    @model_validator(mode="after")
    def _progress(self) -> Update:
        if self.strategy != "blue_green" and self.max_surge + self.max_unavailable == 0:
            raise ValueError("max_surge and max_unavailable cannot both be 0: nothing could move")
        return self


class Deployment(Strict):
    """Replicas of a template behind a load balancer."""

    name: str = Field(description="deployment name; replicas are named after it")
    template: Template = Field(description="what one replica is")
    replicas: int = Field(1, ge=0, description="replicas at the start (the HPA then decides)")
    spread: Literal["none", "host", "rack"] = Field(
        "host",
        description="host: every replica on a distinct host (required anti-affinity); rack: "
        "replicas on distinct racks while racks with room remain, then balanced over racks "
        "(and hosts within them); needs network.topology two_tier",
    )
    readiness: Seconds = Field(0.0, ge=0, description="running this long before traffic, s")
    drain: Seconds = Field(
        30.0, ge=0, description="a stopping replica finishes in-flight requests this long, s"
    )
    balancer: str = Field("round_robin", description=f"one of {', '.join(BALANCERS)}")
    autoscale: Autoscaler | None = Field(
        None, description="a horizontal autoscaler; none: the replica count stays fixed"
    )
    vertical: VerticalAutoscaler | None = Field(
        None, description="a vertical autoscaler; none: replicas keep their template's sizes"
    )
    updates: list[Update] = Field(
        [], description="template changes over time, each with its strategy"
    )
    replica_hour_price: float = Field(0.0, ge=0, description="price of one replica-hour")
    record_every: Seconds = Field(
        15.0, gt=0, description="interval of the deployments table (desired, ready...), s"
    )

    @model_validator(mode="after")
    def _checks(self) -> Deployment:
        if self.balancer not in BALANCERS:
            raise ValueError(f"balancer {self.balancer!r}: allowed are {', '.join(BALANCERS)}")
        times = [u.at for u in self.updates]
        if times != sorted(times):
            raise ValueError("updates must be in time order")
        v, a = self.vertical, self.autoscale
        if v is not None and a is not None and a.metric == "cpu" and "cpu" in v.resources:
            raise ValueError(
                "vertical: it sizes CPU while autoscale scales on cpu utilization, and the two "
                "fight (Kubernetes advises against it): set vertical.resources to [memory] or "
                "autoscale.metric to rps or latency"
            )
        for i, u in enumerate(self.updates):
            bad = set(u.template) - set(Template.model_fields)
            if bad:
                raise ValueError(
                    f"updates[{i}].template: unknown fields {sorted(bad)}; "
                    f"allowed: {', '.join(Template.model_fields)}"
                )
        return self

    def most(self) -> int:
        """The most replicas the deployment may want."""
        a = self.autoscale
        return max(self.replicas, a.max_replicas if a else 0)

    def versions(self) -> list[Template]:
        """The template of each version: the deployment's, then each update's."""
        out = [self.template]
        for u in self.updates:
            out.append(Template.model_validate({**out[-1].model_dump(), **u.template}))
        return out

    def slots(self) -> int:
        """Guests per version: the most replicas plus the most an update adds beside them."""
        extra = max(
            [u.max_surge if u.strategy == "rolling" else self.most() for u in self.updates]
            + [math.ceil(self.most() * u.canary_percent / 100) + u.max_surge for u in self.updates]
            + [0]
        )
        evicted = self.most() if self.vertical is not None and self.vertical.evicts() else 0
        return self.most() + max(extra, evicted)

    def guest_groups(self) -> list[dict[str, Any]]:
        """The guest groups of this deployment, one per version, as scenario entries."""
        out = []
        for k, t in enumerate(self.versions()):
            entry = t.model_dump(exclude={"image_size", "pull_bandwidth", "boot_time"})
            entry.update(
                name=group_name(self.name, k),
                count=self.slots(),
                boot_time=t.startup_s(),
                deployment=self.name,
                anti_affinity=self.name if self.spread != "none" else None,
                anti_affinity_by="rack" if self.spread == "rack" else "host",
            )
            out.append(entry)
        return out


def group_name(deployment: str, version: int) -> str:
    """The guest group of one version of a deployment."""
    return f"{deployment}-v{version}"


class ClusterAutoscaler(Strict):
    """Hosts of one host type switched on when deployment replicas are pending and off when
    idle, in the manner of the Kubernetes Cluster Autoscaler.

    The host type's ``count`` is the most hosts it may run; ``initial`` of them are on at the
    start, the rest off (no power, no capacity). Every ``scan_interval`` it counts the
    replicas that found no host; when some do, it switches on as many off hosts as those
    replicas need (packed first-fit on empty hosts of the type, one replica of a deployment
    per host under ``spread: host``), less those still provisioning; they take guests
    ``provisioning_delay`` seconds later. A host of the type that no guest holds is removed
    (switched off) at the first scan at least ``idle_time`` after a scan first saw it empty,
    never below ``min_hosts``.
    """

    host_type: str = Field(description="the host type whose hosts it adds and removes")
    initial: int | None = Field(
        None, ge=0, description="hosts of the type on at the start; default min_hosts"
    )
    min_hosts: int = Field(0, ge=0, description="never fewer hosts of the type on")
    scan_interval: Seconds = Field(10.0, gt=0, description="seconds between two scans")
    provisioning_delay: Seconds = Field(
        120.0, ge=0, description="from the decision to add a host to its taking guests, s"
    )
    idle_time: Seconds = Field(
        600.0, ge=0, description="an empty host is removed after this long, s"
    )
    host_hour_price: float = Field(0.0, ge=0, description="price of one host-hour of the type")

    def start_on(self) -> int:
        """Hosts of the type on at the start."""
        return self.min_hosts if self.initial is None else self.initial
