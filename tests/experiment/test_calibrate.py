"""Calibration against Adams & Agesen (ASPLOS 2006) and Felter et al. (IBM RC25482, 2014)."""

from __future__ import annotations

import pandas as pd
import pytest

from vsim.cli import main
from vsim.experiment.calibrate import (
    NOT_VERIFIED,
    RAW_DATA,
    SECONDARY,
    calibrate,
    format_report,
)

# Stated tolerance: every numbered relative figure is reproduced within 5 % (relative), and
# the forkwait result, the calibration target of the page-table costs, within 1 %. The figures
# are of three kinds (see each row's status): recomputed from the Felter authors' result logs,
# confirmed only by a secondary source (forkwait), or not verified against the paper text.
TOLERANCE = 0.05


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return calibrate()


def test_every_paper_figure_within_tolerance(table):
    numbered = table.dropna(subset=["paper"])
    assert len(numbered) >= 15
    bad = numbered[numbered.error.abs() > TOLERANCE]
    assert bad.empty, format_report(bad)
    fw = table[table.benchmark == "forkwait"]
    assert (fw.error.abs() < 0.01).all()


def test_every_figure_states_its_verification_status(table):
    assert set(table.status) <= {RAW_DATA, SECONDARY, NOT_VERIFIED}
    assert not table.source.str.contains("approx").any()
    # an unverified figure says so in its citation, never posing as a checked one
    assert table[table.status == NOT_VERIFIED].source.str.contains("not verified").all()
    assert (table[table.benchmark == "forkwait"].status == SECONDARY).all()


def test_orderings_the_papers_report(table):
    v = table.set_index(["benchmark", "mode"]).vsim
    # A&A: the software VMM beats first-generation VT-x on fork-heavy and compile work ...
    assert v["forkwait", "binary_translation"] > 2 * v["forkwait", "hardware_assisted"]
    assert v["kernel_compile", "binary_translation"] > v["kernel_compile", "hardware_assisted"]
    # ... and loses on bare system calls.
    assert v["nano_syscall", "hardware_assisted"] > v["nano_syscall", "binary_translation"]
    # Felter: Docker equals native on CPU and memory, KVM is close; on I/O and round trips KVM
    # falls behind, and Docker's NAT costs latency that --net=host does not.
    for b in ("linpack", "stream", "randomaccess", "fio_random_iops"):
        assert v[b, "container"] == pytest.approx(1.0, abs=1e-3)
        assert v[b, "container"] >= v[b, "hardware_assisted_nested_paging"]
    assert v["fio_random_iops", "hardware_assisted_nested_paging"] < 0.7
    rr = v["netperf_tcp_rr"]
    assert rr["container/host"] > rr["container/bridge"] > rr["hardware_assisted_nested_paging"]


def test_cli_prints_the_side_by_side_table(capsys):
    assert main(["calibrate", "--report"]) == 0
    out = capsys.readouterr().out
    assert "forkwait" in out and "paper" in out and "Adams & Agesen" in out
    assert "not verified" in out and "raw data" in out
