"""``vsim verify``: vsim's validation cases run, checked and reported as one table.

A :class:`Case` is a scenario builder, a measurement of the run's result and, for each measured
quantity, a reference (a closed form or a published figure, with its source) and a tolerance.
The case runs once per seed; for each quantity the mean over the runs and its Student-t
confidence interval are compared with the reference:

    passed  <=>  |mean - reference| <= half-width + rel x |reference| + abs

(and, where a quantity asks for it, the half-width is below ``max_half``, so that a loose
interval cannot pass by being loose). A deterministic case runs once: its interval has no
width and the tolerance alone decides. The cases themselves live in
:mod:`vsim.experiment.verify_cases`; the test suite runs the same objects.

>>> import vsim
>>> table = vsim.verify(quick=True)        # doctest: +SKIP
>>> table[["case", "quantity", "reference", "value", "status"]]   # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from vsim._io import atomic_write
from vsim.experiment.results import Result
from vsim.experiment.run import run
from vsim.experiment.stats import t_quantile
from vsim.scenario import Scenario

PASSED, FAILED, SKIPPED = "pass", "FAIL", "skipped"
COLUMNS = [
    "group", "case", "quantity", "reference", "formula", "source", "value", "ci_low",
    "ci_high", "level", "runs", "rel_tol", "abs_tol", "max_half", "passed", "status", "note",
]  # fmt: skip


@dataclass(frozen=True)
class Quantity:
    """One measured quantity of a case: its reference and how far vsim may stray from it."""

    label: str
    reference: float
    rel: float = 0.0  # relative tolerance, on top of the confidence interval
    abs: float = 0.0  # absolute tolerance, likewise
    max_half: float | None = None  # the interval's half-width must be below this


def tolerance(rel: float, abs_: float, max_half: float | None = None) -> str:
    """``"CI + 0.03 rel"``: what a quantity is allowed, in words."""
    parts = [f"CI + {rel:.3g} rel" if rel else "CI"]
    parts += [f"+ {abs_:.3g}"] if abs_ else []
    if max_half is not None and not math.isnan(max_half):
        parts += [f"(half < {max_half:g})"]
    return " ".join(parts)


@dataclass(frozen=True)
class Check:
    """The outcome of one quantity of one case: a row of the verification table."""

    group: str
    case: str
    quantity: str
    reference: float
    formula: str
    source: str
    value: float
    ci_low: float
    ci_high: float
    level: float
    runs: int
    rel_tol: float
    abs_tol: float
    max_half: float  # NaN: no bound
    passed: bool
    status: str
    note: str = ""

    @property
    def message(self) -> str:
        """One line saying what was compared and how it came out."""
        half = (self.ci_high - self.ci_low) / 2
        return (
            f"{self.case}, {self.quantity}: vsim {self.value:.6g} +/- {half:.3g} "
            f"({self.runs} runs), reference {self.reference:.6g} [{self.formula}], "
            f"tolerance {tolerance(self.rel_tol, self.abs_tol, self.max_half)}: {self.status}"
            + (f" ({self.note})" if self.note else "")
        )


def _never() -> str | None:
    return None


@dataclass(frozen=True)
class Case:
    """A validation case: ``scenario(seed)`` is run for each seed and ``measure(result)`` gives
    one value per quantity, in the order of ``quantities``. ``skip_reason()`` says why the case
    cannot run here (missing traces), or None."""

    name: str
    group: str
    formula: str  # how the references are computed, in one line
    source: str  # where the formula or figure comes from
    quantities: tuple[Quantity, ...]
    scenario: Callable[[int], Scenario]
    measure: Callable[[Result], Sequence[float]]
    seeds: tuple[int, ...] = (1,)
    level: float = 0.95  # confidence level of the interval
    skip_reason: Callable[[], str | None] = _never

    def values(self, on_run: Callable[[], None] | None = None) -> np.ndarray:
        """The measured values, one row per seed and one column per quantity."""
        rows = []
        for seed in self.seeds:
            rows.append(np.asarray(self.measure(run(self.scenario(seed))), dtype=np.float64))
            if on_run is not None:
                on_run()
        return np.vstack(rows)

    def check(self, values: np.ndarray | Sequence[Sequence[float]]) -> list[Check]:
        """Compare measured ``values`` (runs x quantities) with the references."""
        values = np.atleast_2d(np.asarray(values, dtype=np.float64))
        if values.shape[1] != len(self.quantities):
            raise ValueError(
                f"{self.name}: {values.shape[1]} values measured for {len(self.quantities)} "
                "quantities"
            )
        return [self._check_one(q, values[:, i]) for i, q in enumerate(self.quantities)]

    def evaluate(self, on_run: Callable[[], None] | None = None) -> list[Check]:
        """Run the case (or skip it) and check every quantity."""
        reason = self.skip_reason()
        if reason is not None:
            return [self._skipped(q, reason) for q in self.quantities]
        return self.check(self.values(on_run))

    def _check_one(self, q: Quantity, x: np.ndarray) -> Check:
        mean, half = interval(x, self.level)
        within = abs(mean - q.reference) <= half + q.rel * abs(q.reference) + q.abs
        tight = q.max_half is None or half < q.max_half
        passed = bool(within and tight)
        note = "" if tight else f"interval too wide: half-width {half:.3g} >= {q.max_half:g}"
        return self._row(q, mean, mean - half, mean + half, len(x), passed, note)

    def _skipped(self, q: Quantity, reason: str) -> Check:
        nan = math.nan
        return replace(self._row(q, nan, nan, nan, 0, False, reason), status=SKIPPED)

    def _row(self, q, value, lo, hi, runs, passed, note) -> Check:
        return Check(
            self.group, self.name, q.label, q.reference, self.formula, self.source,
            float(value), float(lo), float(hi), self.level, runs, q.rel, q.abs,
            math.nan if q.max_half is None else q.max_half, passed,
            PASSED if passed else FAILED, note,
        )  # fmt: skip


def interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t interval of ``x``; no width for a single value."""
    x = np.asarray(x, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, 0.0
    t = t_quantile(level, len(x) - 1)
    return mean, float(t * x.std(ddof=1) / math.sqrt(len(x)))


def verify(
    cases: Iterable[Case] | None = None,
    *,
    quick: bool = False,
    data: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run the validation cases and return their table, one row per checked quantity.

    ``cases`` defaults to :func:`vsim.experiment.verify_cases.default_cases` (``quick``: shorter
    queueing runs and no PlanetLab parity). ``data`` is the folder holding ``planetlab/``
    (default: ``VSIM_DATA`` or ``../shared/data`` beside the source tree). With ``out`` the
    table is written as ``verify.csv`` and the figure as ``verify.png`` there. The columns:
    group, case, quantity, reference, formula, source, value (mean over runs), ci_low, ci_high,
    level, runs, rel_tol, abs_tol, max_half (NaN: none), passed, status (pass, FAIL,
    skipped), note."""
    if cases is None:
        from vsim.experiment.verify_cases import default_cases

        cases = default_cases(quick=quick, data=data)
    cases = list(cases)
    runnable = [c for c in cases if c.skip_reason() is None]
    bar = tqdm(
        total=sum(len(c.seeds) for c in runnable), desc="vsim verify", unit="run",
        disable=not progress, leave=False,
    )  # fmt: skip
    checks: list[Check] = []
    with bar:
        for case in cases:
            bar.set_postfix_str(case.name, refresh=True)
            checks += case.evaluate(on_run=lambda: bar.update(1))
    table = pd.DataFrame([c.__dict__ for c in checks], columns=COLUMNS)
    if out is not None:
        write_report(table, Path(out))
    return table


def write_report(table: pd.DataFrame, out: Path) -> list[Path]:
    """``verify.csv`` and ``verify.png`` (the one-page figure) in ``out``; the paths."""
    from vsim.plot.base import write_figures
    from vsim.plot.verify import verify_figure

    out.mkdir(parents=True, exist_ok=True)
    csv = out / "verify.csv"
    atomic_write(csv, lambda p: table.to_csv(p, index=False))
    return [csv, *write_figures({"verify": verify_figure(table)}, out, ["png"])]


def format_table(table: pd.DataFrame) -> str:
    """The table as printed by ``vsim verify``: one line per quantity (a skipped case's reason
    once), then each case's formula and the numbered sources."""
    sources = list(dict.fromkeys(table["source"]))
    width = max([4, *(len(c) for c in table["case"])])
    head = (
        f"{'case':{width}} {'quantity':26} {'reference':>12} {'vsim [CI]':>28} "
        f"{'allowed':22} {'':7} src"
    )
    lines = [head, "-" * len(head)]
    noted = set()
    for row in table.itertuples():
        lines.append(
            f"{row.case:{width}} {row.quantity:26} {row.reference:12.6g} {_shown(row):>28} "
            f"{tolerance(row.rel_tol, row.abs_tol, row.max_half):22} {row.status:7} "
            f"[{sources.index(row.source) + 1}]"
        )
        if row.note and (row.case, row.note) not in noted:
            noted.add((row.case, row.note))
            lines.append(f"{'':{width}}   {row.note}")
    lines.append("")
    formulas = dict.fromkeys(zip(table["case"], table["formula"], strict=True))
    lines += [f"  {case}: {formula}" for case, formula in formulas]
    lines.append("")
    lines += [f"[{i}] {s}" for i, s in enumerate(sources, 1)]
    return "\n".join(lines)


def _shown(row) -> str:
    if row.status == SKIPPED:
        return "-"
    if row.runs > 1:
        return f"{row.value:.5g} [{row.ci_low:.5g}, {row.ci_high:.5g}]"
    return f"{row.value:.6g}"


def summary_line(table: pd.DataFrame) -> str:
    """``"31 passed, 0 failed, 3 skipped"``."""
    counts = table["status"].value_counts()
    return (
        f"{counts.get(PASSED, 0)} passed, {counts.get(FAILED, 0)} failed, "
        f"{counts.get(SKIPPED, 0)} skipped"
    )
