"""Calibration against Adams & Agesen (ASPLOS 2006) and Felter et al. (IBM RC25482, 2014)."""

from __future__ import annotations

import pandas as pd
import pytest

from vsim.cli import main
from vsim.experiment.calibrate import (
    BASES,
    DERIVED,
    FITTED,
    NOT_VERIFIED,
    PREDICTED,
    RAW_DATA,
    SECONDARY,
    calibrate,
    format_report,
)

# Stated tolerances. A *fitted* figure (a cost was set from it) or a *derived* one (a cost is
# its arithmetic) must be reproduced within the fit tolerance, 5 % relative, and forkwait, the
# target of the page-table costs, within 1 %. A *predicted* figure (nothing was set from it)
# is held to the prediction tolerance, 10 %, except the misses listed below, which are
# reported as misses: the test fails if one of them stops missing, so the list stays true.
FIT_TOLERANCE = 0.05
PREDICTION_TOLERANCE = 0.10
# Barham et al.'s benchmarks (2003), on one CPU as their text says the Fig. 3 runs were, Xen on
# its split-driver path with domain 0 sharing that CPU: SPEC INT2000 and the Linux build are
# predicted within the tolerance for both Xen and VMware Workstation. Missed: every I/O-bound
# run. Under Xen, OSDB and SPEC WEB99 lose far more than the paper's few percent, as domain 0's
# back-end work on the one CPU displaces the guest's (SPEC WEB99's network_kv preset, 100
# packets per MI, worst); under VMware, OSDB-IR and SPEC WEB99 lose somewhat too much (-20 %
# and -10.2 %) and OSDB-OLTP far too little (its hosted synchronous disk I/O, 0.116 in the
# paper, costs much more than vsim's emulated path).
KNOWN_MISSES = {
    ("barham_osdb_ir", "paravirtual"),
    ("barham_osdb_oltp", "paravirtual"),
    ("barham_specweb99", "paravirtual"),
    ("barham_osdb_ir", "binary_translation/emulated"),
    ("barham_osdb_oltp", "binary_translation/emulated"),
    ("barham_specweb99", "binary_translation/emulated"),
    # Felter et al.'s MySQL (sysbench, read-only OLTP): KVM reached 0.42 of native's peak
    # throughput, vsim's oltp_database preset gives 0.72; the 32-vCPU guest's scaling, which
    # the one-vCPU calibration guest does not model, may be part of the gap (not checked).
    ("felter_mysql_sysbench", "hardware_assisted_nested_paging"),
    # Felter et al.'s Redis GET peak: KVM kept 0.87 of native, vsim's network_kv preset gives
    # 0.65: vsim charges each of the preset's packets the full virtio cost, where a server
    # with many connections may batch them (a guess, not checked). Docker's NAT bridge, 0.727, is
    # predicted at 0.800: +9.98 %, inside the tolerance by a hair.
    ("felter_redis_get", "hardware_assisted_nested_paging"),
}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return calibrate()


def _numbered(table: pd.DataFrame, *bases: str) -> pd.DataFrame:
    t = table.dropna(subset=["paper"])
    return t[t.basis.isin(bases)]


def test_fitted_and_derived_figures_within_the_fit_tolerance(table):
    fit = _numbered(table, FITTED, DERIVED)
    assert len(fit) >= 7
    bad = fit[fit.error.abs() > FIT_TOLERANCE]
    assert bad.empty, format_report(bad)
    fw = table[table.benchmark == "forkwait"]
    assert (fw.error.abs() < 0.01).all()


def test_predicted_figures_within_the_prediction_tolerance_or_named_misses(table):
    pred = _numbered(table, PREDICTED)
    pred = pred[pred.can_fail]  # (the zero-cost rows are checked apart: they cannot fail)
    far = pred[pred.error.abs() > PREDICTION_TOLERANCE]
    missed = set(far[["benchmark", "mode"]].itertuples(index=False, name=None))
    assert missed == KNOWN_MISSES, format_report(pred)
    # at least six predictions from a publication nothing was fitted to, on other hypervisors
    # (Xen, VMware Workstation) and hardware (2003 Xeons) than the fits
    barham = pred[pred.source.str.contains("Barham")]
    assert len(barham) >= 6 and set(barham["mode"]) == {
        "paravirtual",
        "binary_translation/emulated",
    }
    assert len(barham[barham.error.abs() <= PREDICTION_TOLERANCE]) >= 4


def test_every_figure_says_whether_it_was_fitted(table):
    assert set(table.basis) == set(BASES)
    # the figures the model gives whatever its costs: zero-cost containers and VT-x syscalls
    fixed = table[~table.can_fail]
    assert set(fixed["mode"]) == {"container", "container/host", "hardware_assisted"}
    assert (fixed.vsim == 1.0).all() and (fixed.basis == PREDICTED).all()


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
    assert "fitted" in out and "predicted" in out and "cannot fail" in out
