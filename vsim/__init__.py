"""vsim: a discrete-event simulator of a virtualized datacenter.

>>> import vsim
>>> res = vsim.run("scenarios/quickstart.yaml")      # doctest: +SKIP
>>> res.summary, res.hosts, res.guests, res.events   # doctest: +SKIP
>>> vsim.verify()          # validation cases against theory, one row each  # doctest: +SKIP
"""

from vsim.experiment import Result, read_result, run
from vsim.experiment.run import vsim_version
from vsim.experiment.sweep import SweepResult, read_sweep, sweep
from vsim.experiment.verify import verify
from vsim.scenario import Scenario, ScenarioError, load_scenario

#: The installed distribution's version ("0+unknown" in a source tree that is not installed).
__version__ = vsim_version()

__all__ = [
    "Result",
    "Scenario",
    "__version__",
    "ScenarioError",
    "SweepResult",
    "load_scenario",
    "read_result",
    "read_sweep",
    "run",
    "sweep",
    "verify",
]
