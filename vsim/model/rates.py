"""What the engine tracks per guest and host, and the constants its solvers share."""

from __future__ import annotations

from vsim.metrics import GUEST_COLUMNS

PAGE_BYTES = 4096  # swap-in reads one page per I/O operation
CPU, IO, NET, DONE = 0, 1, 2, 3  # phases of a batch job
# What a guest wants while running: CPU as a fraction of its vCPUs, memory as a fraction of its
# size, disk and network in bytes/s, IOPS in operations/s.
WANTS = ("cpu", "memory", "disk", "iops", "net")
# Recorded per sample, plus what the consolidation metrics integrate: useful CPU a migration
# takes from its guest, and CPU a guest wants while paused for a stop-and-copy.
GUEST_RATES = (*GUEST_COLUMNS, "cpu_migration_loss_mips", "cpu_paused_want_mips")
# The guest rates a one-host solve sets: all but the network (solved across hosts) and what
# migrations take (only the full solve sees migrations). They lead GUEST_RATES, so that solve
# writes one block of rows.
HOST_SOLVED = GUEST_RATES[: GUEST_RATES.index("net_bps")]
assert GUEST_RATES[len(HOST_SOLVED) :] == (
    "net_bps",
    "cpu_migration_loss_mips",
    "cpu_paused_want_mips",
)
# Host "on", "on_busy" (on with CPU in use), "saturated" (at 100 % CPU) and "short" (on, and a
# guest gets less CPU than it asks, migration losses aside, or a migration is arriving: what
# CloudSim counts as an SLA violation) integrate to times.
HOST_RATES = (
    "cpu",
    "hypervisor",
    "mem",
    "disk",
    "net",
    "power",
    "on",
    "on_busy",
    "saturated",
    "short",
)
SHORT = 1 - 1e-9  # a guest getting less than this share of its CPU demand is short of it
SATURATED = 1 - 1e-9  # CPU use at or above this share of capacity counts as 100 %
