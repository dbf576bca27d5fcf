"""CloudSim parity on PlanetLab day 20110303 under the ``cloudsim`` profile: the two cases
``vsim verify`` runs and IQR-MMT-1.5, against the CloudSim 4.0 figures the benchmark records,
and the order of IQR-MMT-1.5 and THR-MMT-0.8 by energy. Skipped when the
traces are absent (they are found as the benchmarks find them: ``VSIM_DATA``, else
``shared/data`` beside the repository). About 10 s a policy: ``-m "not planetlab"`` leaves
them out."""

from __future__ import annotations

import functools

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
    # Not in vsim verify; its figures are CloudSim 4.0's, built from source (beloglazov.py).
    "IQR-MMT-1.5": {"energy": (190.0, 0.03, 0.0), "migrations": (26282, 0.05, 0.0),
                    "SLATAH": (0.0482, 0.0, 0.005)},
}  # fmt: skip


@functools.cache
def _checks(policy):
    case = planetlab_parity(policy, data=DAY.parents[1])
    assert case.skip_reason() is None
    got = {q.label.split(" ")[0]: (q.reference, q.rel, q.abs) for q in case.quantities}
    assert got == EXPECTED[policy]
    assert all(q.max_half is None for q in case.quantities) and case.seeds == (1,)
    return case.evaluate()


@pytest.mark.planetlab
@pytest.mark.skipif(DAY is None, reason="PlanetLab traces not found (set VSIM_DATA)")
@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_cloudsim_parity_on_day_20110303(policy):
    assert_passes(_checks(policy))


@pytest.mark.planetlab
@pytest.mark.skipif(DAY is None, reason="PlanetLab traces not found (set VSIM_DATA)")
def test_iqr_mmt_costs_less_than_thr_mmt_as_in_cloudsim():
    # CloudSim 4.0: IQR-MMT-1.5 190.0 kWh, THR-MMT-0.8 192.6 kWh. Testing a target against its
    # own history's threshold (not CloudSim's rule) gave 193.8 against 193.4 kWh: swapped.
    energy = {p: _checks(p)[0].value for p in ("IQR-MMT-1.5", "THR-MMT-0.8")}
    assert _checks("THR-MMT-0.8")[0].quantity.startswith("energy")
    assert energy["IQR-MMT-1.5"] < energy["THR-MMT-0.8"]


def test_parity_is_skipped_cleanly_without_traces(tmp_path):
    case = planetlab_parity("LR-MMT-1.2", data=tmp_path)
    assert "not found" in case.skip_reason()
    checks = case.evaluate()
    assert [c.status for c in checks] == ["skipped"] * 3
    assert all(c.runs == 0 and "not found" in c.note for c in checks)
