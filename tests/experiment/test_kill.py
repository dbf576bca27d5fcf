"""SIGKILL while a run writes its folder and in the middle of a sweep: no folder mixes two runs,
no temporary file survives the next write, no worker outlives the sweep, and a restarted sweep
gives the tables of an uninterrupted one. Also: what ``--out`` may replace, and ``--force``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from vsim.cli import main
from vsim.experiment import read_result
from vsim.experiment.results import IncompleteResultError
from vsim.experiment.sweep import read_sweep

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """\
name: tiny
seed: 11
duration: 6h
sample_interval: 10m
datacenter:
  host_types:
    - {name: h, count: 2, cores: 4, core_mips: 1000, memory: 16GiB}
workloads:
  w: {kind: random_walk, start: 0.6, sigma: 0.2}
guests:
  - {name: vm, count: 4, vcpus: 2, memory: 2GiB, workload: w}
"""

#: A vsim command line in a child process; with KILL_AFTER_TABLES=n it SIGKILLs itself just
#: after the n-th Parquet table has been written (to its temporary name), i.e. mid-write.
CHILD = """\
import os, signal, sys
import pandas as pd
from vsim.cli import main
limit = int(os.environ.get("KILL_AFTER_TABLES", "0"))
if limit:
    write, done = pd.DataFrame.to_parquet, []
    def to_parquet(self, *args, **kw):
        write(self, *args, **kw)
        done.append(1)
        if len(done) == limit:
            os.kill(os.getpid(), signal.SIGKILL)
    pd.DataFrame.to_parquet = to_parquet
sys.exit(main(sys.argv[1:]))
"""


def child(*argv: str, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *argv],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def scenario_file(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def temp_files(folder: Path) -> list[Path]:
    """Hidden temporary files and folders of a writer (``.name.<...>.tmp`` / ``.old``)."""
    return [p for p in folder.rglob(".*") if p.name.endswith((".tmp", ".old"))]


def same_result(a, b) -> None:
    pd.testing.assert_series_equal(
        a.summary.drop("wall_time_s", errors="ignore"),
        b.summary.drop("wall_time_s", errors="ignore"),
    )
    for name in ("hosts", "guests", "events", "requests", "migrations"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


# ------------------------------------------------------------------------- a run killed mid-write


def test_a_run_killed_while_writing_leaves_the_earlier_result_whole(scenario_file, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet"]) == 0
    before = read_result(out)

    proc = child("run", str(scenario_file), "--out", str(out), "--quiet", "--set", "seed=12",
                 KILL_AFTER_TABLES="2")  # fmt: skip
    proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL

    # The folder is the earlier run's, every file of it, and reads without complaint.
    same_result(read_result(out), before)

    # The next write removes what the killed writer left, and writes the new run whole.
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet", "--set", "seed=12"]) == 0
    assert temp_files(tmp_path) == []
    after = read_result(out)
    assert not after.summary.equals(before.summary)


def test_read_result_refuses_a_folder_that_mixes_two_runs(scenario_file, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(scenario_file), "--out", str(a), "--quiet"]) == 0
    assert main(["run", str(scenario_file), "--out", str(b), "--quiet", "--set", "seed=12"]) == 0
    (a / "guests.parquet").write_bytes((b / "guests.parquet").read_bytes())
    with pytest.raises(IncompleteResultError, match="guests.parquet"):
        read_result(a)


def test_a_new_run_replaces_an_earlier_result_as_a_whole(scenario_file, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet"]) == 0
    stale = out / "figures" / "drawn_by_an_earlier_run.png"
    stale.write_bytes(b"old figure")
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet", "--set", "seed=12"]) == 0
    assert not stale.exists()
    assert (out / "figures" / "utilization.png").is_file()


def test_a_folder_that_is_not_a_result_needs_force(scenario_file, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my own notes")
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert str(out) in err and "--force" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # nothing written

    assert main(["run", str(scenario_file), "--out", str(out), "--quiet", "--force"]) == 0
    assert not (out / "notes.txt").exists()
    read_result(out)


# -------------------------------------------------------------------------- a sweep killed mid-way


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_sweep_leaves_no_worker_and_restarts_to_the_same_tables(scenario_file, tmp_path):
    out = tmp_path / "sw"
    sets = ["--set", "seed=1,2,3,4,5,6"]
    proc = child("sweep", str(scenario_file), *sets, "--jobs", "2", "--out", str(out), "--quiet")
    try:
        deadline = time.monotonic() + 300
        while not list((out / "runs").glob("*.json")):
            assert proc.poll() is None and time.monotonic() < deadline, "sweep never got going"
            time.sleep(0.05)
        workers = descendants(proc.pid)
        assert len(workers) >= 2  # the fork server and the workers
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert not (out / "runs.csv").exists(), "the sweep finished before it was killed"

        deadline = time.monotonic() + 20
        while any(running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphans = [w for w in workers if running(w)]
    finally:
        for w in descendants(proc.pid) + (workers if "workers" in locals() else []):
            if running(w):
                os.kill(w, signal.SIGKILL)  # only processes this test started
        if proc.poll() is None:
            proc.kill()
    assert orphans == [], f"workers outlived the sweep they ran for: {orphans}"

    assert (
        main(["sweep", str(scenario_file), *sets, "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    )
    assert temp_files(out) == []
    clean = tmp_path / "clean"
    assert (
        main(["sweep", str(scenario_file), *sets, "--jobs", "1", "--out", str(clean), "--quiet"])
        == 0
    )
    restarted, uninterrupted = read_sweep(out), read_sweep(clean)
    for name in ("runs", "aggregate"):
        a, b = getattr(restarted, name), getattr(uninterrupted, name)
        wall = [c for c in a.columns if c.startswith("wall_time_s")]
        pd.testing.assert_frame_equal(a.drop(columns=wall), b.drop(columns=wall))
