"""What a run keeps of its requests, in memory bounded whatever their number.

* **Counts** are exact: completed, rejected, timed out, failed, and completed over the SLO.
* **Latencies** of completed requests are kept exactly up to :data:`EXACT_LATENCIES`; the
  summary's percentiles are then exact (``numpy.quantile``). Past that, every latency goes into
  a DDSketch (Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
  relative-error guarantees", VLDB 2019; package ``ddsketch``), whose every quantile is within
  :data:`SKETCH_ACCURACY` of the true value, relatively. The mean stays exact.
* **Rows** of the requests table (after the workload's ``record`` share) are kept up to the
  scenario's ``output.request_rows``; past that, a uniform sample of that many (reservoir
  sampling, Li's algorithm L) drawn from the named stream ``request_rows``, in arrival-of-
  outcome order.

The summary says what was kept: ``requests_recorded`` (rows in the table) and
``requests_latency_rel_error`` (0 when the percentiles are exact, else the sketch's bound).
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import pandas as pd

__all__ = ["EXACT_LATENCIES", "SKETCH_ACCURACY", "Latencies", "RequestLog"]

#: Completed requests whose latencies are kept exactly (8 bytes each); past that, a sketch.
EXACT_LATENCIES = 1_000_000
#: Relative accuracy of the latency sketch: every quantile within this share of the true one.
SKETCH_ACCURACY = 0.005


class Latencies:
    """Latencies of completed requests in bounded memory: exact up to ``exact`` of them, then a
    DDSketch; the mean and the count over ``slo`` stay exact."""

    def __init__(self, exact: int = EXACT_LATENCIES, slo: float | None = None) -> None:
        self.exact = exact
        self.values = array("d")
        self.sketch = None  # a DDSketch once the exact values are full
        self.sketch_sum = 0.0
        self.slo = slo
        self.sketch_over_slo = 0

    def __len__(self) -> int:
        return len(self.values) + (0 if self.sketch is None else int(self.sketch.count))

    def add(self, value: float) -> None:
        """A completed request's latency."""
        if self.sketch is None:
            if len(self.values) < self.exact:
                self.values.append(value)
                return
            from ddsketch import DDSketch

            self.sketch = DDSketch(relative_accuracy=SKETCH_ACCURACY)
        self.sketch.add(value)
        self.sketch_sum += value
        if self.slo is not None and value > self.slo:
            self.sketch_over_slo += 1

    def figures(self, quantiles: tuple[tuple[str, float], ...]) -> dict[str, float]:
        """Mean, the named percentiles and the count over the SLO (NaN without a value)."""
        lat = np.frombuffer(self.values, dtype=np.float64) if len(self.values) else np.zeros(0)
        over = float(np.sum(lat > self.slo)) if self.slo is not None else 0.0
        out: dict[str, float] = {}
        if self.sketch is None:
            out["latency_s_mean"] = float(lat.mean()) if len(lat) else np.nan
            for name, q in quantiles:
                out[f"latency_s_{name}"] = float(np.quantile(lat, q)) if len(lat) else np.nan
        else:
            out["latency_s_mean"] = (float(lat.sum()) + self.sketch_sum) / len(self)
            sketch = self._all_sketched(lat)
            for name, q in quantiles:
                out[f"latency_s_{name}"] = float(sketch.get_quantile_value(q))
        out["over_slo"] = over + self.sketch_over_slo
        return out

    def _all_sketched(self, lat: np.ndarray):
        from ddsketch import DDSketch

        sketch = DDSketch(relative_accuracy=SKETCH_ACCURACY)
        for value in lat.tolist():
            sketch.add(value)
        sketch.merge(self.sketch)
        return sketch


class RequestLog:
    """Outcome of every request: exact counts, latencies (exact or sketched), sampled rows."""

    COLUMNS = ("id", "guest", "arrival_s", "start_s", "end_s", "latency_s", "cpu_mi", "status")

    def __init__(
        self,
        max_rows: int | None = None,
        rng: np.random.Generator | None = None,
        exact_latencies: int | None = None,
    ) -> None:
        self.exact_latencies = EXACT_LATENCIES if exact_latencies is None else exact_latencies
        #: Every completed request's latency; its SLO (the tightest of the services') is set by
        #: the owner through :attr:`slo`.
        self.latencies = Latencies(self.exact_latencies)
        self.completed = 0
        self.rejected = 0
        self.timed_out = 0
        self.failed = 0
        self.rows: list[tuple] = []
        self._ids = iter(range(2**62)).__next__  # request ids, unique in the run
        # Every request, warmup included: created, and between two tiers (a hop).
        self.created = 0
        self.in_transit = 0
        # Per service (workload name): latencies of completed requests, and how many ended
        # otherwise (rejected, timed out, failed), for the services table.
        self.by_service: dict[str, tuple[Latencies, list[int]]] = {}
        # Per service: CPU ready time summed over completed requests, and their count (time
        # slices only).
        self.ready: dict[str, list] = {}
        self.max_rows = max_rows
        self.rng = rng
        self.offered = 0  # rows offered to the table (after the workload's record share)
        self._order: list[int] = []  # offer number of each kept row, once sampling started

    @property
    def slo(self) -> float | None:
        return self.latencies.slo

    @slo.setter
    def slo(self, value: float | None) -> None:
        self.latencies.slo = value

    def next_id(self) -> int:
        """The id of a request being created."""
        self.created += 1
        return self._ids()

    def count(
        self, service: str, latency: float | None, slo: float | None, ready: float = math.nan
    ) -> None:
        """One counted request of ``service`` (latency target ``slo``) ended: completed in
        ``latency`` s, or not; ``ready``: the CPU ready time it sat through (time slices)."""
        entry = self.by_service.get(service)
        if entry is None:
            entry = self.by_service[service] = (Latencies(self.exact_latencies, slo), [0])
        if latency is None:
            entry[1][0] += 1
        else:
            entry[0].add(latency)
            if ready == ready:  # (not NaN)
                total = self.ready.setdefault(service, [0.0, 0])
                total[0] += ready
                total[1] += 1

    def ready_mean(self, service: str | None = None) -> float:
        """Mean CPU ready time of the completed requests of ``service`` (None: all), s; NaN
        where none was measured."""
        parts = [self.ready[service]] if service in self.ready else []
        if service is None:
            parts = list(self.ready.values())
        n = sum(p[1] for p in parts)
        return sum(p[0] for p in parts) / n if n else math.nan

    def add_latency(self, value: float) -> None:
        """A completed request's latency."""
        self.latencies.add(value)

    def add_row(self, row: tuple) -> None:
        """A row of the requests table, kept or not by reservoir sampling past ``max_rows``."""
        n = self.offered
        self.offered += 1
        if self.max_rows is None or n < self.max_rows:
            self.rows.append(row)
            return
        if self.max_rows == 0:
            return
        if not self._order:
            self._order = list(range(self.max_rows))
            self._w, self._next = 1.0, self.max_rows - 1
            self._skip()
        if n == self._next:
            j = int(self.rng.integers(self.max_rows))
            self.rows[j] = row
            self._order[j] = n
            self._skip()

    def _skip(self) -> None:
        """The next offer that enters the sample: Li's algorithm L (ACM TOMS 20(4), 1994), the
        same distribution as algorithm R with a few random numbers per kept row, not per offer."""
        k = self.max_rows
        self._w *= math.exp(math.log(1.0 - self.rng.random()) / k)
        gap = math.floor(math.log(1.0 - self.rng.random()) / math.log1p(-self._w))
        self._next += gap + 1

    def frame(self) -> pd.DataFrame:
        rows = self.rows
        if self._order:
            rows = [rows[i] for i in np.argsort(self._order, kind="stable")]
        return pd.DataFrame(rows, columns=list(self.COLUMNS))

    # ------------------------------------------------------------------ summary figures

    def latency_figures(self, quantiles: tuple[tuple[str, float], ...]) -> dict[str, float]:
        """Mean, the named percentiles and the count over the SLO of the completed requests."""
        return self.latencies.figures(quantiles)

    def kept(self) -> dict[str, float]:
        """What the summary says was sampled."""
        return {
            "requests_recorded": len(self.rows),
            "requests_latency_rel_error": (
                0.0 if self.latencies.sketch is None else SKETCH_ACCURACY
            ),
        }
