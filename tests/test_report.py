"""``vsim report``: one self-contained HTML file, opened in headless Chromium to check that its
images and tables render."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tests.test_cli import queue, write
from vsim.cli import main
from vsim.experiment.targets import meets_targets, parse_target

#: Colours in the report's style sheet (feasible and saturated rows) and matplotlib's first
#: line colour, which only a rendered figure puts on the page.
FEASIBLE, SATURATED, FIGURE_BLUE = (0xE8, 0xF6, 0xE8), (0xFB, 0xEA, 0xEA), (0x1F, 0x77, 0xB4)


def chromium() -> str:
    """The Chromium binary, installed with apt-get when missing and possible; else skip."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            try:
                subprocess.run(cmd, env=env, capture_output=True, timeout=900, check=False)
            except (OSError, subprocess.TimeoutExpired):
                break
        if shutil.which("chromium"):
            return shutil.which("chromium")
    pytest.skip("Chromium is not installed and cannot be installed here")


def headless(browser: str, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    return subprocess.run(
        [browser, *flags, *args], capture_output=True, text=True, timeout=180, check=False
    )


def has_colour(pixels: np.ndarray, rgb: tuple[int, int, int]) -> bool:
    return bool(np.any(np.all(np.abs(pixels[..., :3] * 255 - rgb) <= 2, axis=-1)))


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    out = tmp / "sweep"
    argv = ["sweep", str(write(tmp, queue())), "--out", str(out), "--quiet", "-j", "1"]
    argv += ["--set", "workloads.svc.arrivals.rate=0.3,0.6,1.5", "--set", "guests.0.count=1,3"]
    assert main(argv) == 0
    return out


def test_targets_are_judged_on_the_safe_end_with_no_saturated_run(sweep_folder):
    from vsim.experiment.sweep import read_sweep

    agg = read_sweep(sweep_folder).aggregate
    target = parse_target("latency_s_p99<30")
    met = meets_targets(agg, [target]).set_index("config")
    rate = agg.set_index("config")["workloads.svc.arrivals.rate"]
    count = agg.set_index("config")["guests.0.count"]
    # M/M/1, mean service 1 s: p99 = ln(100) / (1 - rate): 6.6 s at 0.3, 11.5 s at 0.6, inf at 1.5.
    assert list(met["latency_s_p99<30"]) == list(rate < 1)
    assert list(met["feasible"]) == list((rate < 1) & (count == 1))  # 3 guests: 2 rejected
    allowed = meets_targets(agg, [target], allow_rejected=True)
    assert list(allowed["feasible"]) == list(rate < 1)
    with pytest.raises(ValueError, match="METRIC<VALUE"):
        parse_target("latency_s_p99 = 3")
    with pytest.raises(KeyError, match="no metric 'latency_p99'"):
        meets_targets(agg, [parse_target("latency_p99<1")])


def test_report_of_a_sweep_renders_its_tables_and_images_in_chromium(sweep_folder, capsys):
    argv = ["report", str(sweep_folder), "--target", "latency_s_p99<30"]
    assert main([*argv, "--target", "unmet_cpu_frac<0.01"]) == 0
    page = sweep_folder / "report.html"
    assert capsys.readouterr().out.strip() == str(page)
    text = page.read_text(encoding="utf-8")
    assert "<b>2</b> of 6 configurations meet them" in text
    assert 'src="data:image/png;base64,' in text and 'src="figures' not in text  # self-contained
    assert "latency_s_p99 1/1" in text  # saturated runs named in the table
    browser = chromium()
    dom = headless(browser, "--dump-dom", page.as_uri()).stdout
    n_images = len(re.findall(r"<img ", dom))
    assert n_images == len(list((sweep_folder / "figures").glob("*.png"))) > 5
    assert dom.count("<table>") == 1 and dom.count('class="feasible"') == 2
    shot = sweep_folder / "shot.png"
    done = headless(browser, f"--screenshot={shot}", "--window-size=1400,3000", page.as_uri())
    assert shot.is_file(), done.stderr
    pixels = imread(shot)
    assert has_colour(pixels, FEASIBLE) and has_colour(pixels, SATURATED)  # the table
    assert has_colour(pixels, FIGURE_BLUE)  # the first figure, decoded and drawn


def test_report_of_a_run_lists_its_rejected_guests(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(write(tmp_path, queue(0.5, 3))), "--out", str(out), "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "Rejected guests (2)" in text and "s-1" in text and "s-2" in text
    assert "2 of 3 guests were rejected" in text
    # The one analytic service, its own row: M/M/1 at rho 0.5 with mean service 1 s: 2 s.
    assert "<h2>Services</h2>" in text and "analytic" in text and "2 s" in text
    assert "no room for cpu and memory" in text  # why each guest was rejected
    assert text.count("data:image/png;base64,") == len(list((out / "figures").glob("*.png")))
    assert main(["report", str(tmp_path / "nothing")]) == 1


def test_the_capacity_question_is_answered_by_one_sweep_and_one_report(tmp_path, capsys):
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "capacity_question.yaml"
    out = tmp_path / "capacity"
    argv = ["sweep", str(scenario), "--out", str(out), "--quiet", "-j", "1"]
    argv += ["--set", "scheduler.overcommit.cpu=1,1.25,3", "--set", "duration=1h"]
    assert main([*argv, "--set", "scheduler.policy=first_fit,worst_fit"]) == 0
    capsys.readouterr()
    targets = ["--target", "latency_s_p99<0.2", "--target", "unmet_cpu_frac<0.01"]
    assert main(["report", str(out), *targets]) == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "<b>2</b> of 6 configurations meet them" in text
    from vsim.experiment.sweep import read_sweep

    agg = read_sweep(out).aggregate
    met = meets_targets(agg, [parse_target(t) for t in targets[1::2]])
    feasible = agg[met["feasible"].to_numpy()]
    # Worst fit from 1.25 on; at 1.0 guests are rejected, and first fit leaves demand unmet.
    assert list(feasible["scheduler.policy"]) == ["worst_fit"] * 2
    assert list(feasible["scheduler.overcommit.cpu"]) == [1.25, 3.0]
    assert text.count('<tr class="feasible">') == 2
    first_fit = agg[agg["scheduler.policy"] == "first_fit"].set_index("scheduler.overcommit.cpu")
    assert first_fit.loc[1.0, "guests_rejected_mean"] == 80
    assert (first_fit.loc[[1.25, 3.0], "unmet_cpu_frac_mean"] > 0.01).all()
