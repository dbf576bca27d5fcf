"""Recorders that turn a run into tidy DataFrames."""

from vsim.metrics.recorder import GUEST_COLUMNS, HOST_COLUMNS, EventLog, SampleRecorder

__all__ = ["GUEST_COLUMNS", "HOST_COLUMNS", "EventLog", "SampleRecorder"]
