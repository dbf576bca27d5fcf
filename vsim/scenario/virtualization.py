"""Virtualization techniques: modes, I/O paths, operation profiles and per-event cost tables.

(Placeholder: the full catalogue with published sources is being written.)
"""

from __future__ import annotations

MODES = (
    "native",
    "container",
    "trap_and_emulate",
    "binary_translation",
    "paravirtual",
    "hardware_assisted",
    "hardware_assisted_nested_paging",
)
IO_PATHS = ("emulated", "paravirtual", "passthrough")
CONTAINER_NETWORKS = ("host", "bridge")
