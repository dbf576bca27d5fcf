"""Memory of request-heavy runs: every row recorded (``output.request_rows: null``) next to a
bounded table (``request_rows`` rows), at two request counts, in this process one after the
other. Peak traced Python/NumPy memory (tracemalloc) of the whole run, table built included.
With the bound, the peak should stop growing with the number of requests.
"""

from __future__ import annotations

import gc
import os

import vsim
from benchmarks.common import timed
from benchmarks.requests import service_scenario
from vsim.scenario import validate_scenario


def _bounded(sc: vsim.Scenario, rows: int | None) -> vsim.Scenario:
    data = sc.model_dump(by_alias=True, exclude_unset=True)
    data["output"] = {"request_rows": rows}
    return validate_scenario(data)


def main(counts: tuple[int, ...] = (40_000, 160_000), limit: int = 20_000) -> list[dict]:
    rows, cores = [], os.cpu_count()
    for n in counts:
        sc = service_scenario(1, 1, 0.8, n / 0.8)  # M/M/1-PS at utilization 0.8
        for label, keep in (("all rows", None), (f"{limit:,} rows", limit)):
            gc.collect()
            job = _bounded(sc, keep)
            wall, peak, res = timed(lambda job=job: vsim.run(job), memory=True)
            done = int(res.summary["requests_completed"])
            print(
                f"request memory: {done:,} requests, {label}: peak {peak:.0f} MB, "
                f"{len(res.requests):,} rows kept, {wall:.1f} s; {cores} cores"
            )
            rows.append(
                {
                    "benchmark": f"request_memory_{n}_{'all' if keep is None else keep}",
                    "cores": cores,
                    "requests": done,
                    "peak_mb": peak,
                    "wall_s": wall,
                }
            )
            del res
    return rows


if __name__ == "__main__":
    main()
