"""A sweep on a real Dask cluster: ``dask scheduler`` and two ``dask worker`` processes on
localhost over TCP, driven by ``vsim sweep --dask tcp://...``, gives the local executor's tables."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

pytest.importorskip("dask.distributed")

from benchmarks.dask_cluster import dask_cluster, imported  # noqa: E402
from benchmarks.dask_sweep import RUNS, run_cli, sweep_argv, tables, write_scenario  # noqa: E402


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sweep_over_tcp_gives_the_process_pools_tables(tmp_path):
    from dask.distributed import Client

    path = write_scenario(tmp_path)
    with dask_cluster(workers=2) as address:
        assert address.startswith("tcp://127.0.0.1:")
        run_cli(sweep_argv(path, tmp_path / "dask", "--dask", address))
        with Client(address) as client:
            took_runs = client.run(imported, "vsim.experiment.sweep")
    run_cli(sweep_argv(path, tmp_path / "pool", "--jobs", "2"))

    assert len(took_runs) == 2 and all(took_runs.values())  # both workers ran tasks
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["executor"] == "dask" and manifest["runs"] == RUNS == 40
    assert address in manifest["command"]
    assert json.loads((tmp_path / "pool" / "manifest.json").read_text())["executor"] == "processes"
    dask_runs, dask_agg = tables(tmp_path / "dask")
    pool_runs, pool_agg = tables(tmp_path / "pool")
    assert len(dask_runs) == 40 and (dask_runs["status"] == "ok").all()
    assert dask_runs["cpu_util_mean"].nunique() > 4  # the replications differ
    pd.testing.assert_frame_equal(dask_runs, pool_runs)
    pd.testing.assert_frame_equal(dask_agg, pool_agg)


def test_the_cluster_is_stopped_after_an_error():
    from dask.distributed import Client

    pids: list[int] = []
    with pytest.raises(RuntimeError, match="inside"), dask_cluster(workers=1) as address:
        with Client(address) as client:
            pids = [*client.run(os.getpid).values(), client.run_on_scheduler(os.getpid)]
        raise RuntimeError("inside")
    assert len(pids) == 2 and len(set(pids)) == 2
    assert not any(_alive(pid) for pid in pids)
