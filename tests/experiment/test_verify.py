"""``vsim verify``: the pass rule, the table, the files, the command's exit code."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import vsim
from vsim.cli import main
from vsim.experiment import verify_cases as cases
from vsim.experiment.verify import COLUMNS, Quantity, format_table, interval, verify
from vsim.plot.verify import verify_figure


def with_reference(case, *references):
    """``case`` with other references: a case that must fail."""
    pairs = zip(case.quantities, references, strict=True)
    qs = tuple(dataclasses.replace(q, reference=r) for q, r in pairs)
    return dataclasses.replace(case, name=f"{case.name} (wrong)", quantities=qs)


def test_the_rule_is_mean_within_interval_plus_tolerance():
    case = dataclasses.replace(cases.mm1_ps(0.5), quantities=(Quantity("x", 10.0, rel=0.01),))
    values = [[9.0], [10.0], [11.0], [10.0]]  # mean 10, s = 0.8165, t(0.975, 3) = 3.182
    mean, half = interval(np.array(values).ravel())
    assert mean == 10.0 and half == pytest.approx(3.182446 * 0.816497 / 2, rel=1e-5)
    (ok,) = case.check(values)
    assert ok.passed and ok.status == "pass" and ok.runs == 4
    assert (ok.ci_low, ok.ci_high) == pytest.approx((10 - half, 10 + half))

    def checked(reference):
        (c,) = dataclasses.replace(case, quantities=(Quantity("x", reference, rel=0.01),)).check(
            values
        )
        return c

    # |10 - ref| <= half + 0.01 ref: passes up to ref = (10 + half) / 0.99, fails beyond.
    assert checked((10 + half) / 0.99 - 1e-9).passed
    bad = checked((10 + half) / 0.99 + 1e-9)
    assert not bad.passed and bad.status == "FAIL" and "FAIL" in bad.message


def test_a_single_run_has_no_interval_and_max_half_rejects_a_loose_one():
    case = dataclasses.replace(cases.mm1_ps(0.5), quantities=(Quantity("x", 1.0, rel=1e-12),))
    assert case.check([[1.0]])[0].passed
    assert not case.check([[1.0 + 1e-9]])[0].passed
    loose = dataclasses.replace(case, quantities=(Quantity("x", 1.0, max_half=0.01),))
    (c,) = loose.check([[0.9], [1.1]])
    assert not c.passed and "interval too wide" in c.note
    with pytest.raises(ValueError, match="2 values measured for 1"):
        case.check([[1.0, 2.0]])


def test_verify_table_files_and_a_failing_case(tmp_path):
    good = cases.batch_processor_sharing()
    bad = with_reference(good, 2.0, 5.0)  # b really ends at 4 s
    table = vsim.verify([good, bad], out=tmp_path)
    assert list(table.columns) == COLUMNS
    assert table["status"].tolist() == ["pass", "pass", "pass", "FAIL"]
    assert table.loc[3, "value"] == pytest.approx(4.0, abs=1e-12)
    assert table["source"].str.contains("Bertsekas").all()
    written = pd.read_csv(tmp_path / "verify.csv")
    assert written["status"].tolist() == table["status"].tolist()
    assert (tmp_path / "verify.png").stat().st_size > 10_000
    text = format_table(table)
    assert "[1] weighted max-min" in text and "FAIL" in text and "both at 500 MIPS" in text


def test_the_figure_is_a_figure_and_says_when_nothing_ran():
    table = verify([cases.cpu_shares(), cases.planetlab_parity("LR-MMT-1.2", data="/nowhere")])
    fig = verify_figure(table)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert "3 passed, 0 failed, 3 skipped" in fig._suptitle.get_text()
    empty = verify_figure(table[table["status"] == "skipped"])
    assert len(empty.axes) == 1 and "no case ran" in empty.axes[0].texts[0].get_text()


@pytest.mark.parametrize("fail", [False, True])
def test_command_exit_code(monkeypatch, tmp_path, capsys, fail):
    good = cases.disk_sharing()
    chosen = [good, with_reference(good, 20.0, 21.0)] if fail else [good]
    monkeypatch.setattr(cases, "default_cases", lambda quick=False, data=None: chosen)
    code = main(["verify", "--out", str(tmp_path), "--quiet"])
    out, err = capsys.readouterr()
    assert code == (1 if fail else 0)
    assert "two writers on one disk" in out and (tmp_path / "verify.csv").is_file()
    if fail:
        assert "1 failed" in err and "two writers on one disk (wrong)" in err
    else:
        assert "vsim verify: 2 passed, 0 failed, 0 skipped" in out


def test_default_cases_cover_the_issue_and_quick_leaves_out_the_parity(tmp_path):
    full = cases.default_cases(data=tmp_path)
    groups = {c.group for c in full}
    assert groups == {"queueing", "pre-copy", "network", "availability", "sharing", "parity"}
    names = " ".join(c.name for c in full)
    assert "TCP" in names and "kB/MI of work" in names  # the network and dirty-by-work cases
    for family in ("M/M/1-PS", "M/M/4", "M/G/1 (H2)", "M/D/1", "insensitivity"):
        assert family in names
    quick = cases.default_cases(quick=True)
    assert "parity" not in {c.group for c in quick}
    assert all(c.source and c.formula for c in full)
    assert all(not math.isnan(q.reference) for c in full for q in c.quantities)
