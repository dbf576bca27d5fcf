"""Experiments: run scenarios and read and write their results."""

from vsim.experiment.results import Result, read_result
from vsim.experiment.run import run

__all__ = ["Result", "read_result", "run"]
