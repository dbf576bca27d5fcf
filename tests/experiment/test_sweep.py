"""Sweeps: grid expansion, replication seeds, restarts, failures, executors, statistics, CLI."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import vsim.experiment.sweep as sweep_mod
from vsim.cli import main
from vsim.experiment.stats import STATS
from vsim.experiment.sweep import (
    aggregate_runs,
    expand_grid,
    parse_sets,
    read_sweep,
    replication_seed,
    sweep,
)
from vsim.scenario import ScenarioError

GRID = {"scheduler.overcommit.cpu": [1.0, 2.0], "scheduler.policy": ["first_fit", "worst_fit"]}


def tiny(**kw) -> dict:
    """One 4-core host, four 2-vCPU VMs on random walks: contention once CPU is overcommitted."""
    data = {
        "name": "tiny",
        "seed": 11,
        "duration": "1h",
        "sample_interval": "10m",
        "datacenter": {
            "host_types": [
                {"name": "h", "count": 2, "cores": 4, "core_mips": 1000, "memory": "16GiB"}
            ]
        },
        "workloads": {"w": {"kind": "random_walk", "start": 0.6, "sigma": 0.2}},
        "guests": [
            {"name": "vm", "count": 4, "vcpus": 2, "memory": "2GiB", "workload": "w"},
        ],
    }
    data.update(kw)
    return data


def no_wall(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c.startswith("wall_time_s")])


# ---------------------------------------------------------------------------- grid and seeds


def test_grid_is_the_product_first_path_slowest():
    configs = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert configs == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 2, "b": "z"},
    ]
    assert expand_grid({}) == [{}]


def test_zip_pairs_lists_and_needs_equal_lengths():
    assert expand_grid({"a": [1, 2], "b": [3, 4]}, zip=True) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    with pytest.raises(ValueError, match="same length"):
        expand_grid({"a": [1, 2], "b": [3]}, zip=True)
    with pytest.raises(ValueError, match="list of values"):
        expand_grid({"a": 3})


def test_parse_sets_reads_yaml_values_and_keeps_brackets_together():
    grid = parse_sets(["scheduler.overcommit.cpu=1,1.5,2", "x=[1,2],first_fit,'a,b'"])
    assert grid == {"scheduler.overcommit.cpu": [1, 1.5, 2], "x": [[1, 2], "first_fit", "a,b"]}
    for bad in ("novalue", "=1,2", "p=", "p=1,,2"):
        with pytest.raises(ValueError, match="--set"):
            parse_sets([bad])


def test_replication_seeds_are_spawned_children_independent_of_grid_and_count():
    children = np.random.SeedSequence(11).spawn(4)
    for r, child in enumerate(children):
        expected = int(child.generate_state(1, dtype=np.uint64)[0]) >> 1
        assert replication_seed(11, r) == expected
    seeds = [replication_seed(11, r) for r in range(50)]
    assert len(set(seeds)) == 50 and all(0 <= s < 2**63 for s in seeds)

    res = sweep(tiny(), GRID, replications=3, executor="serial", progress=False)
    table = res.runs.pivot(index="replication", columns="config", values="seed")
    # Common random numbers: replication r has the same seed in every configuration...
    assert (table.nunique(axis=1) == 1).all()
    assert list(table[0]) == seeds[:3]
    # ...and different replications really draw different numbers.
    first = res.runs[res.runs["config"] == 0]
    assert first["cpu_util_mean"].nunique() == 3
    # Reproducible: the same sweep again gives the same table.
    again = sweep(tiny(), GRID, replications=3, executor="serial", progress=False)
    pd.testing.assert_frame_equal(no_wall(res.runs), no_wall(again.runs))


def test_a_run_reproduces_alone_with_its_seed():
    from vsim.experiment import run
    from vsim.scenario import validate_scenario

    res = sweep(tiny(), {"scheduler.overcommit.cpu": [2.0]}, replications=2, progress=False)
    row = res.runs.iloc[1]
    data = tiny(seed=int(row["seed"]))
    data["scheduler"] = {"overcommit": {"cpu": 2.0}}
    alone = run(validate_scenario(data))
    assert alone.summary["unmet_cpu_frac"] == row["unmet_cpu_frac"]
    assert alone.summary["energy_kwh"] == row["energy_kwh"]


# ---------------------------------------------------------------------------- restart, failures


def count_runs(monkeypatch) -> list[str]:
    """Record the run ids actually simulated (serial executor: runs in this process)."""
    done: list[str] = []
    real = sweep_mod._execute

    def counting(spec):
        done.append(spec.run_id)
        return real(spec)

    monkeypatch.setattr(sweep_mod, "_execute", counting)
    return done


def test_restart_skips_finished_runs_and_gives_the_same_tables(tmp_path, monkeypatch):
    out = tmp_path / "sw"
    simulated = count_runs(monkeypatch)
    first = sweep(tiny(), GRID, replications=2, executor="serial", out=out, progress=False)
    assert len(simulated) == 8
    files = sorted((out / "runs").glob("*.json"))
    assert [f.stem for f in files] == list(first.runs["run_id"])
    mtimes = {f: f.stat().st_mtime_ns for f in files}

    simulated.clear()
    second = sweep(tiny(), GRID, replications=2, executor="serial", out=out, progress=False)
    assert simulated == []
    assert {f: f.stat().st_mtime_ns for f in files} == mtimes
    pd.testing.assert_frame_equal(first.runs, second.runs)
    pd.testing.assert_frame_equal(first.aggregate, second.aggregate)
    pd.testing.assert_frame_equal(first.runs, pd.read_parquet(out / "runs.parquet"))

    # A lost run file is the only run done again; more replications keep the earlier seeds.
    files[3].unlink()
    third = sweep(tiny(), GRID, replications=3, executor="serial", out=out, progress=False)
    assert sorted(simulated) == sorted([files[3].stem, *third.runs["run_id"][2::3]])
    kept = third.runs[third.runs["replication"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(no_wall(kept), no_wall(first.runs))

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["replications"] == 3 and manifest["runs"] == 12


def test_failing_configuration_is_recorded_and_the_sweep_goes_on(tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("time,guest,cpu\n0,vm-0,0.5\n0,vm-1,0.2\n")
    bad.write_text("time,guest,cpu\n0,vm-0,oops\n")
    data = tiny(workloads={"w": {"kind": "csv", "path": str(good)}})
    grid = {"workloads.w.path": [str(good), str(bad)]}
    res = sweep(data, grid, replications=2, executor="serial", out=tmp_path / "o", progress=False)
    assert list(res.runs["status"]) == ["ok", "ok", "error", "error"]
    assert res.runs["error"].iloc[2].startswith("TraceError") and "oops" in res.runs["error"][2]
    assert res.runs["error"].iloc[0] is None or pd.isna(res.runs["error"].iloc[0])
    assert math.isnan(res.runs["cpu_util_mean"].iloc[3])
    assert list(res.aggregate["runs"]) == [2, 0] and list(res.aggregate["failed"]) == [0, 2]
    assert len(res.failed) == 2
    on_disk = read_sweep(tmp_path / "o")
    assert list(on_disk.runs["status"]) == ["ok", "ok", "error", "error"]


def test_bad_configuration_fails_before_anything_runs(tmp_path, monkeypatch):
    simulated = count_runs(monkeypatch)
    with pytest.raises(ScenarioError, match=r"scheduler\.policy"):
        sweep(tiny(), {"scheduler.policy": ["first_fit", "bogus"]}, out=tmp_path / "o")
    assert simulated == [] and not (tmp_path / "o").exists()


def test_interrupt_keeps_finished_runs_and_a_restart_completes(tmp_path, monkeypatch):
    out = tmp_path / "sw"
    real = sweep_mod._execute
    calls = []

    def interrupted(spec):
        calls.append(spec.run_id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(spec)

    monkeypatch.setattr(sweep_mod, "_execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep(tiny(), GRID, executor="serial", out=out, progress=False)
    assert len(list((out / "runs").glob("*.json"))) == 2
    assert not list((out / "runs").glob(".*.tmp"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert len(pd.read_csv(out / "runs.csv")) == 2

    calls.clear()
    monkeypatch.setattr(sweep_mod, "_execute", real)
    done = sweep(tiny(), GRID, executor="serial", out=out, progress=False)
    assert len(done.runs) == 4 and (done.runs["status"] == "ok").all()


# ---------------------------------------------------------------------------- executors


def test_serial_processes_and_dask_give_identical_tables(tmp_path):
    from dask.distributed import Client, LocalCluster

    kw = {"replications": 2, "progress": False}
    serial = sweep(tiny(), GRID, executor="serial", **kw)
    procs = sweep(tiny(), GRID, executor="processes", jobs=2, out=tmp_path / "p", **kw)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        dask = sweep(tiny(), GRID, executor="dask", dask_address=client, **kw)
    assert procs.manifest["executor"] == "processes" and dask.manifest["executor"] == "dask"
    for other in (procs, dask, read_sweep(tmp_path / "p")):
        pd.testing.assert_frame_equal(no_wall(serial.runs), no_wall(other.runs))
        pd.testing.assert_frame_equal(no_wall(serial.aggregate), no_wall(other.aggregate))


# ---------------------------------------------------------------------------- statistics


def test_confidence_interval_matches_a_hand_computation():
    runs = pd.DataFrame(
        {
            "run_id": [f"c{c}-r{r}" for c in range(2) for r in range(4)],
            "config": [0] * 4 + [1] * 4,
            "x": [1] * 4 + [2] * 4,
            "replication": [0, 1, 2, 3] * 2,
            "seed": [5, 6, 7, 8] * 2,
            "status": ["ok"] * 7 + ["error"],
            "error": [None] * 7 + ["boom"],
            "m": [1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 13.0, np.nan],
        }
    )
    agg = aggregate_runs(runs, ["x"])
    assert list(agg.columns[:4]) == ["config", "x", "runs", "failed"]
    row = agg.iloc[0]
    # mean 2.5, sample std sqrt(5/3), half-width t(0.975, 3) * std / 2
    std = math.sqrt(5 / 3)
    half = 3.182446305284263 * std / 2
    assert row["m_mean"] == pytest.approx(2.5)
    assert row["m_std"] == pytest.approx(std)
    assert row["m_ci95"] == pytest.approx(half, rel=1e-9)
    low, high = stats.t.interval(0.95, 3, loc=2.5, scale=std / 2)
    assert (row["m_ci95_low"], row["m_ci95_high"]) == pytest.approx((low, high))
    row = agg.iloc[1]
    assert (row["runs"], row["failed"]) == (3, 1)
    assert row["m_mean"] == pytest.approx(11.0)
    assert row["m_ci95"] == pytest.approx(stats.t.ppf(0.975, 2) * math.sqrt(3) / math.sqrt(3))


def test_single_replication_has_no_interval():
    res = sweep(tiny(), {"scheduler.overcommit.cpu": [1.0]}, progress=False)
    assert res.aggregate["cpu_util_mean_mean"].iloc[0] == res.runs["cpu_util_mean"].iloc[0]
    assert math.isnan(res.aggregate["cpu_util_mean_ci95"].iloc[0])


def test_aggregate_of_a_real_sweep_agrees_with_scipy():
    res = sweep(tiny(), GRID, replications=3, progress=False, executor="serial")
    for config, group in res.runs.groupby("config"):
        values = group["energy_kwh"].to_numpy()
        low, high = stats.t.interval(
            0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values)
        )
        row = res.aggregate[res.aggregate["config"] == config].iloc[0]
        assert row["energy_kwh_ci95_low"] == pytest.approx(low, rel=1e-12)
        assert row["energy_kwh_ci95_high"] == pytest.approx(high, rel=1e-12)
    m = res.metric("energy_kwh")
    assert list(m.columns) == ["config", *GRID, "runs", *STATS]
    assert STATS[:5] == ("mean", "std", "ci95", "ci95_low", "ci95_high")


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny()))
    return path


def test_cli_bad_set_names_the_path_and_exits_1(scenario_file, tmp_path, capsys):
    out = tmp_path / "o"
    args = ["sweep", str(scenario_file), "--out", str(out), "--quiet"]
    assert main([*args, "--set", "scheduler.polcy=first_fit,best_fit"]) == 1
    err = capsys.readouterr().err
    assert "scheduler.polcy" in err and "unknown field" in err and "Traceback" not in err
    assert main([*args, "--set", "scheduler.overcommit.cpu=1,-2"]) == 1
    err = capsys.readouterr().err
    assert "scheduler.overcommit.cpu" in err and "-2" in err
    assert main([*args, "--set", "guests.5.count=1"]) == 1
    assert "guests.5.count" in capsys.readouterr().err
    assert main([*args, "--set", "scheduler.policy"]) == 1
    assert "PATH=V1,V2" in capsys.readouterr().err
    assert not out.exists()


def test_cli_sweep_writes_tables_and_plot_draws_sweep_figures(scenario_file, tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["sweep", str(scenario_file), "--set", "scheduler.overcommit.cpu=1,2"]
    argv += ["--set", "scheduler.policy=first_fit,worst_fit", "--zip", "-r", "2", "-j", "1"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "unmet_cpu_frac_mean" in printed and "results written" in printed
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 4 and set(runs["scheduler.policy"]) == {"first_fit", "worst_fit"}
    agg = pd.read_csv(out / "aggregate.csv")
    assert list(agg["scheduler.overcommit.cpu"]) == [1, 2] and list(agg["runs"]) == [2, 2]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["command"][:2] == ["vsim", "sweep"]
    assert manifest["zip"] is True

    assert main(["plot", str(out)]) == 0
    figures = {p.name for p in (out / "figures").iterdir()}
    assert "curve_cpu_util_mean_vs_scheduler_overcommit_cpu.png" in figures
    # No demand went unmet in any configuration: a curve of zeros is not drawn.
    assert "curve_unmet_cpu_frac_vs_scheduler_overcommit_cpu.png" not in figures
    assert "pareto.png" in figures


# ---------------------------------------------------------------------------- run cache


def test_tree_digest_sees_edits_additions_and_renames_but_not_byte_code(tmp_path):
    from vsim.experiment.cache import tree_digest

    (tmp_path / "pkg").mkdir()
    src = tmp_path / "pkg" / "a.py"
    src.write_text("x = 1\n")
    first = tree_digest(tmp_path)
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0\1")
    assert tree_digest(tmp_path) == first
    src.write_text("x = 2\n")
    edited = tree_digest(tmp_path)
    assert edited != first
    src.rename(tmp_path / "pkg" / "b.py")
    assert tree_digest(tmp_path) not in (first, edited)
    (tmp_path / "pkg" / "c.py").write_text("")
    assert len({first, edited, tree_digest(tmp_path)}) == 3


def test_code_digest_covers_the_installed_package():
    import hashlib

    import vsim
    from vsim.experiment.cache import code_digest

    digest = code_digest()
    assert len(digest) == 64 and code_digest() == digest
    # Independently: the package's source files, hashed here by path and bytes.
    root = Path(vsim.__file__).resolve().parent
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    assert root / "experiment" / "cache.py" in files and len(files) > 50
    h = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
    assert h != digest  # not only file bytes: paths and library versions count too


def test_other_code_invalidates_the_cache_and_the_sweep_says_so(tmp_path, monkeypatch):
    out = tmp_path / "sw"
    simulated = count_runs(monkeypatch)
    first = sweep(tiny(), GRID, executor="serial", out=out, progress=False)
    assert first.manifest["code_digest"] and first.manifest["stale_runs_redone"] == {}
    simulated.clear()
    monkeypatch.setattr(sweep_mod, "code_digest", lambda: "0" * 64)
    with pytest.warns(sweep_mod.StaleRunsWarning, match="4 made by other vsim code"):
        second = sweep(tiny(), GRID, executor="serial", out=out, progress=False)
    assert len(simulated) == 4
    assert set(second.runs["run_id"]).isdisjoint(first.runs["run_id"])
    assert second.manifest["stale_runs_redone"] == {"code": 4}
    assert len(second.runs) == 4  # the old runs are not mixed in
    # The same code again: everything is reused, nothing said.
    simulated.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweep(tiny(), GRID, executor="serial", out=out, progress=False)
    assert simulated == []


def test_a_changed_scenario_is_run_again_and_named(tmp_path, monkeypatch):
    out = tmp_path / "sw"
    grid = {"scheduler.overcommit.cpu": [1.0, 2.0]}
    sweep(tiny(), grid, executor="serial", out=out, progress=False)
    simulated = count_runs(monkeypatch)
    with pytest.warns(sweep_mod.StaleRunsWarning, match="2 made for another scenario"):
        res = sweep(tiny(duration="2h"), grid, executor="serial", out=out, progress=False)
    assert len(simulated) == 2 and (res.runs["sim_time_s"] == 7200).all()


def test_cli_says_when_it_reruns_runs_of_other_code(scenario_file, tmp_path, monkeypatch, capsys):
    argv = ["sweep", str(scenario_file), "--set", "scheduler.overcommit.cpu=1,2", "-j", "1"]
    argv += ["--out", str(tmp_path / "o"), "--quiet"]
    assert main(argv) == 0
    assert "warning" not in capsys.readouterr().err
    monkeypatch.setattr(sweep_mod, "code_digest", lambda: "f" * 64)
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "warning: finished runs in" in err and "2 made by other vsim code" in err
    assert "Warning" not in err  # one plain line, not the warnings module's format


def test_reading_a_sweep_written_before_saturation_was_counted_aggregates_again(tmp_path):
    out = tmp_path / "old"
    res = sweep(tiny(), GRID, executor="serial", out=out, progress=False)
    old = res.aggregate[[c for c in res.aggregate.columns if not c.endswith(STATS[5:])]]
    old.to_csv(out / "aggregate.csv", index=False)
    old.to_parquet(out / "aggregate.parquet")
    again = read_sweep(out)
    assert "energy_kwh_saturated" in again.aggregate.columns
    pd.testing.assert_frame_equal(no_wall(again.aggregate), no_wall(res.aggregate))
