"""CloudSim parity on PlanetLab day 20110303 under the ``cloudsim`` profile: the two cases
``vsim verify`` runs, against the CloudSim 4.0 figures the benchmark records. Skipped when the
traces are absent (they are found as the benchmarks find them: ``VSIM_DATA``, else
``shared/data`` beside the repository). About 10 s a policy: ``-m "not planetlab"`` leaves
them out."""

from __future__ import annotations

import pytest

from benchmarks.common import planetlab_day
from tests.helpers import assert_passes
from vsim.experiment.verify_cases import planetlab_parity

DAY = planetlab_day("20110303")
# The brief: energy within 3 %, migrations within 5 %, SLATAH within 0.5 points (where
# CloudSim's SLATAH is recorded: LR-MMT-1.2 only).
EXPECTED = {
    "LR-MMT-1.2": {"energy": (163.5, 0.03, 0.0), "migrations": (27859, 0.05, 0.0),
                   "SLATAH": (0.0586, 0.0, 0.005)},
    "THR-MMT-0.8": {"energy": (192.6, 0.03, 0.0), "migrations": (26711, 0.05, 0.0)},
}  # fmt: skip


@pytest.mark.planetlab
@pytest.mark.skipif(DAY is None, reason="PlanetLab traces not found (set VSIM_DATA)")
@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_cloudsim_parity_on_day_20110303(policy):
    case = planetlab_parity(policy, data=DAY.parents[1])
    assert case.skip_reason() is None
    got = {q.label.split(" ")[0]: (q.reference, q.rel, q.abs) for q in case.quantities}
    assert got == EXPECTED[policy]
    assert all(q.max_half is None for q in case.quantities) and case.seeds == (1,)
    assert_passes(case.evaluate())


def test_parity_is_skipped_cleanly_without_traces(tmp_path):
    case = planetlab_parity("LR-MMT-1.2", data=tmp_path)
    assert "not found" in case.skip_reason()
    checks = case.evaluate()
    assert [c.status for c in checks] == ["skipped"] * 3
    assert all(c.runs == 0 and "not found" in c.note for c in checks)
