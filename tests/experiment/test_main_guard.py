"""A sweep started from a plain script: stops at once without the ``__main__`` guard, runs
with it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from vsim.experiment.executors import _guarded_lines

SCENARIO = {
    "name": "script",
    "seed": 5,
    "duration": "30m",
    "sample_interval": "10m",
    "datacenter": {"host_types": [{"name": "h", "count": 1, "cores": 4, "memory": "16GiB"}]},
    "workloads": {"w": {"kind": "constant", "cpu": 0.5}},
    "guests": [{"name": "vm", "count": 2, "vcpus": 2, "memory": "2GiB", "workload": "w"}],
}


def run_script(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    script = tmp_path / "plan.py"
    head = f"import vsim\nDATA = {json.dumps(SCENARIO)}\nOUT = {str(tmp_path / 'out')!r}\n"
    script.write_text(head + textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )


SWEEP = (
    'vsim.sweep(DATA, {"scheduler.overcommit.cpu": [1.0, 2.0]}, jobs=2, executor="processes", '
    "progress=False, out=OUT)"
)


def test_unguarded_script_stops_at_once_with_one_message(tmp_path):
    done = run_script(tmp_path, f"sw = {SWEEP}\nprint(sw.metric('unmet_cpu_frac'))\n")
    assert done.returncode == 1
    assert done.stderr.count("Traceback") == 1 and "UnguardedMainError" in done.stderr
    assert 'if __name__ == "__main__":' in done.stderr and "plan.py, line 4" in done.stderr
    assert "KeyError" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_guarded_script_runs_its_sweep_in_worker_processes(tmp_path):
    body = f"""
    def main():
        sw = {SWEEP}
        print(sw.manifest["executor"], list(sw.aggregate["runs"]))


    if __name__ == "__main__":
        main()
    """
    done = run_script(tmp_path, body)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "processes [1, 1]"


def test_guarded_lines_are_the_body_of_the_main_guard():
    source = textwrap.dedent(
        """\
        import vsim
        x = 1
        if __name__ == "__main__":
            y = 2
            z = (3,
                 4)
        if "__main__" == __name__:
            w = 5
        if __name__ == "vsim":
            v = 6
        """
    )
    assert _guarded_lines(source) == {4, 5, 6, 8}


def test_the_readme_sweep_example_runs_as_a_script(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Sweeps") :]
    start = section.index("```python\n") + len("```python\n")
    example = section[start : section.index("```", start)]
    assert 'if __name__ == "__main__":' in example
    # The same code on a small scenario and two runs per configuration, to keep it short.
    (tmp_path / "small.yaml").write_text(json.dumps(SCENARIO))  # JSON is YAML
    small = example.replace("scenarios/quickstart.yaml", str(tmp_path / "small.yaml"))
    small = small.replace("replications=10, jobs=4", "replications=2, jobs=2")
    small = small.replace('"results/oc"', repr(str(tmp_path / "oc")))
    assert small.count(str(tmp_path)) == 2
    done = run_script(tmp_path, small)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "oc" / "runs").glob("*.json"))) == 12
