"""Virtualization techniques: modes, I/O paths, operation profiles and per-event cost tables.

The model (see ``docs/virtualization.md``) in one paragraph: a workload's *operation profile*
says how often it does things a virtualization layer must intervene in, per unit of useful CPU
work; a mode's *cost table* says how many CPU cycles each such event costs beyond native. Their
product, summed over events, is the extra work. The unit of work is vsim's, the million
instructions (MI) of native execution, counted as 1e6 cycles (CPI = 1), so that

    cpu_in_guest (alpha) = sum_e rate[e] * guest_cycles[mode, e] / 1e6
                           + kernel_fraction * kernel_code[mode]
    cpu_on_host  (beta)  = sum_e rate[e] * host_cycles[path, e] / 1e6

with rates in events per MI and costs in cycles per event.

Sources. Numbers marked "A&A" come from K. Adams and O. Agesen, "A Comparison of Software and
Hardware Techniques for x86 Virtualization", ASPLOS 2006 (Pentium 4 672, 3.8 GHz; VMware's
binary-translating VMM against its first VT-x VMM). "Felter" is W. Felter, A. Ferreira,
R. Rajamony, J. Rubio, "An Updated Performance Comparison of Virtual Machines and Linux
Containers", IBM Research Report RC25482, 2014 (ISPASS 2015; 2 x Xeon E5-2665, KVM with EPT,
Docker). Values said to be *calibrated* were tuned, within the range the cited measurements
allow, so that ``vsim calibrate`` reproduces the paper's relative figures; values said to be
*derived* follow from the arithmetic in their comment. Each mode's defaults describe the
hardware generation on which that technique was current: ``hardware_assisted`` is
first-generation VT-x (2006), ``hardware_assisted_nested_paging`` is EPT/NPT-era KVM (2010s).

Verification status (details in ``docs/virtualization.md``). The A&A per-event cycle counts
quoted below (nanobenchmarks, the Pentium 4 exit and trap costs) and the A&A test machine are
recollections that could not be checked against the paper text; they are marked "not verified"
where used and remain estimates. Felter's testbed details (two sockets, 16 cores, 32 threads,
~3.1 GHz) match the authors' published result logs; the exact Xeon model is not verified.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

MODES = (
    "native",
    "container",
    "trap_and_emulate",
    "binary_translation",
    "paravirtual",
    "hardware_assisted",
    "hardware_assisted_nested_paging",
)
IO_PATHS = ("emulated", "paravirtual", "passthrough", "xen_split")
CONTAINER_NETWORKS = ("host", "bridge")

#: Modes that run a guest kernel of its own (a virtual machine); the others share the host's.
VM_MODES = tuple(m for m in MODES if m not in ("native", "container"))

CYCLES_PER_MI = 1e6  # one MI of native work is counted as 1e6 cycles (CPI = 1)
MiB = 2**20


# --------------------------------------------------------------------------- profiles
class OperationProfile(BaseModel):
    """How often a workload does what virtualization must intervene in, per MI of native work.

    Every rate is in events per million instructions (MI) of useful work, counted at native
    speed; ``kernel_fraction`` is the fraction of that work spent in the (guest) kernel.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    syscalls: float = Field(0.0, ge=0, description="system calls")
    page_faults: float = Field(0.0, ge=0, description="page faults the guest kernel handles")
    pt_updates: float = Field(0.0, ge=0, description="writes to page-table entries")
    tlb_misses: float = Field(0.0, ge=0, description="TLB misses (page walks)")
    io_ops: float = Field(0.0, ge=0, description="disk I/O operations")
    net_packets: float = Field(0.0, ge=0, description="network packets sent or received")
    interrupts: float = Field(0.0, ge=0, description="device and timer interrupts")
    privileged: float = Field(
        0.0, ge=0, description="other privileged operations: CR3 loads, port I/O, MSR writes"
    )
    kernel_fraction: float = Field(0.0, ge=0, le=1, description="share of work in kernel mode")


RATE_KEYS = tuple(OperationProfile.model_fields)

# Presets. The rates are estimates from the nature of each benchmark (how often it enters the
# kernel, faults, touches page tables, does I/O), at a few GHz; their derivations are in the
# comments and in docs/virtualization.md.
PRESETS: dict[str, OperationProfile] = {
    # Compute-bound (Linpack, SPECint): the 1 kHz timer tick (~0.3 per MI at 3 GHz), a handful
    # of system calls and faults; page walks rare (blocked kernels, large pages).
    "cpu_bound": OperationProfile(
        syscalls=0.5,
        page_faults=0.5,
        pt_updates=1.0,
        tlb_misses=20.0,
        interrupts=0.3,
        privileged=0.5,
        kernel_fraction=0.02,
    ),
    # Memory-bound (STREAM, RandomAccess): like cpu_bound but TLB-miss heavy; RandomAccess
    # updates a random word of a huge table about once per microsecond of stall, so about one
    # page walk per 3000 cycles (~300 per MI).
    "memory_bound": OperationProfile(
        syscalls=0.5,
        page_faults=0.5,
        pt_updates=1.0,
        tlb_misses=300.0,
        interrupts=0.3,
        privileged=0.5,
        kernel_fraction=0.02,
    ),
    # Fork/exec and system-call heavy (a kernel compile): thousands of short-lived processes,
    # each mapping, faulting in and tearing down its address space; ~20 system calls per MI
    # (tens of thousands per second per core), 30 % of the time in the kernel.
    "syscall_heavy": OperationProfile(
        syscalls=20.0,
        page_faults=10.0,
        pt_updates=60.0,
        tlb_misses=100.0,
        io_ops=0.2,
        interrupts=1.0,
        privileged=15.0,
        kernel_fraction=0.3,
    ),
    # Disk-heavy database (OLTP): one disk I/O per ~50k cycles of work and its interrupt,
    # client traffic, large buffer pool (TLB misses).
    "disk_database": OperationProfile(
        syscalls=30.0,
        page_faults=1.0,
        pt_updates=2.0,
        tlb_misses=200.0,
        io_ops=20.0,
        net_packets=10.0,
        interrupts=25.0,
        privileged=5.0,
        kernel_fraction=0.3,
    ),
    # Network request/response (a key-value server such as memcached or Redis): a request of
    # ~20k cycles costs a few system calls (epoll, read, write) and two packets.
    "network_kv": OperationProfile(
        syscalls=150.0,
        page_faults=0.5,
        pt_updates=1.0,
        tlb_misses=100.0,
        net_packets=100.0,
        interrupts=50.0,
        privileged=5.0,
        kernel_fraction=0.5,
    ),
    # ---- Workload profiles people compare virtualization techniques on (issue 21). Each
    # count is per unit of the workload's own work (a request, a transaction, a loop), turned
    # into events per MI by the CPU cycles that unit takes natively. Bases: "measured" counts
    # come from a published measurement named in the comment; "structure" counts follow from
    # what the program does per unit (its protocol or benchmark definition, cited); "estimate"
    # marks the rest. None was tuned against a virtualization result. Where a measurement
    # gives CPU seconds but not cycles, a 3.3 GHz clock is assumed (the cpu-cycles rate the
    # same author's perf run of nginx reports, mvermeulen.org/perf/?p=916; an assumption for
    # the other machine).
    #
    # Static-content web server: Apache httpd under ab, 100 concurrent, no keep-alive, as the
    # Phoronix "apache" test runs it; per-process counters published at
    # perf.mvermeulen.com/workloads/phoronix/apache (Intel machine). Measured: the server
    # processes used 123.05 s user + 289.72 s system (70.2 % in the kernel) and took 3,605,491
    # minor faults over three runs of 1,000,000 requests. So one request is 412.77 s x 3.3e9 /
    # 3e6 = 0.454 MI (assumed clock), and 1.20 faults, i.e. 2.65 faults per MI. Structure: a
    # request without keep-alive is a TCP connection, ~10 packets at the server (SYN, SYN-ACK,
    # ACK, the request, one or two response segments, ACKs, FIN each way; RFC 793), 22 per MI;
    # ~10 system calls (accept, read, stat/open, sendfile or writev, the log write, close,
    # poll), 22 per MI. Estimate: one interrupt per two packets (coalescing), two context
    # switches with an address-space switch per request; files served from the page cache.
    "static_web": OperationProfile(
        syscalls=22.0,
        page_faults=2.65,
        pt_updates=5.3,  # estimate: a PTE written per fault, and cleared again
        tlb_misses=50.0,  # estimate, as the default mix
        net_packets=22.0,
        interrupts=11.0,
        privileged=4.4,
        kernel_fraction=0.70,
    ),
    # Kernel build: make of Linux 4.13 (the Phoronix "build-linux-kernel" test), counters
    # published at perf.mvermeulen.com/workloads/phoronix/build-linux-kernel (Intel machine).
    # Measured: 1078.81 s user + 41.44 s system (3.7 % in the kernel), 31,486,712 minor faults,
    # 29,135 processes. So 1120.25 s x 3.3e9 = 3.70e6 MI (assumed clock): 8.5 faults per MI and
    # one fork/exec per 127 MI. Estimates: two PTE writes per fault (mapped, later torn down);
    # ~1500 system calls per compiler process (opening, stat-ing and reading headers), 11.8 per
    # MI; ~100 address-space switches per process; the tree in the page cache (the page reports
    # the build 87.5 % on CPU), a few output writes; the 1 kHz tick (0.3 per MI at 3.3 GHz).
    # Note the measured 3.7 % kernel share, far below the 30 % the older syscall_heavy estimate
    # assumes: a modern compile is mostly user-mode compiler work.
    "kernel_build": OperationProfile(
        syscalls=11.8,
        page_faults=8.5,
        pt_updates=17.0,
        tlb_misses=100.0,
        io_ops=0.05,
        interrupts=0.3,
        privileged=0.8,
        kernel_fraction=0.037,
    ),
    # OLTP database: pgbench's default TPC-B-like transaction. Structure: five SELECT, UPDATE
    # and INSERT commands per transaction (PostgreSQL's pgbench manual) plus BEGIN and END,
    # seven client round trips with the simple query protocol: 14 packets (request and reply
    # segments; delayed ACKs ride on them) and ~25 system calls (receive, send and poll per
    # statement, the WAL write and fsync at commit, a lock). I/O: the commit's WAL flush and,
    # in steady state, about one data-page write per transaction (the three updated rows'
    # pages, flushed by checkpoints); reads are cached at small scales (TPC-C, larger than
    # memory, reads 1.9 pages per page written: Chen et al., "TPC-E vs. TPC-C", SIGMOD Record
    # 2011). Estimate: ~0.3 MI of CPU per transaction (a few thousand transactions per second
    # per core), 35 % of it in the kernel.
    "oltp_database": OperationProfile(
        syscalls=83.0,  # 25 / 0.3
        page_faults=0.5,  # estimate: warm shared buffers
        pt_updates=1.0,
        tlb_misses=200.0,  # estimate: a large buffer pool, as disk_database
        io_ops=6.7,  # 2 / 0.3
        net_packets=47.0,  # 14 / 0.3
        interrupts=30.0,  # estimate: a NIC interrupt per two packets and one per I/O
        privileged=5.0,
        kernel_fraction=0.35,
    ),
    # File server: Filebench's "fileserver" personality (workloads/fileserver.f: 50 threads,
    # files of 128 KiB mean, 1 MiB I/Os, 16 KiB mean appends), served over the network by a
    # user-space server such as Samba. Structure: one loop creates and writes a whole file,
    # appends to one, reads a whole one, deletes one and stats one: 11 file operations, 12
    # system calls with the read's end-of-file; 272 KiB of data, 192 full-size segments of
    # 1448 bytes plus ~96 ACKs and a request and reply per operation, ~310 packets (no
    # segmentation offload). Estimates: ~3 disk I/Os per loop (the two writes and a journal
    # commit; reads mostly cached); ~1.8 MI per loop (310 packets x ~5000 cycles of network
    # stack, 12 operations x ~20,000 of file system); 60 % in the kernel.
    "file_server": OperationProfile(
        syscalls=20.0,  # (12 file calls + 24 receives and sends) / 1.8
        page_faults=1.0,
        pt_updates=2.0,
        tlb_misses=100.0,
        io_ops=1.67,  # 3 / 1.8
        net_packets=172.0,  # 310 / 1.8
        interrupts=86.0,  # a NIC interrupt per two packets
        privileged=2.0,
        kernel_fraction=0.60,
    ),
    # A generic server mix, used when a guest is costed but its workload names no profile.
    "default": OperationProfile(
        syscalls=20.0,
        page_faults=2.0,
        pt_updates=10.0,
        tlb_misses=50.0,
        io_ops=0.5,
        net_packets=2.0,
        interrupts=1.0,
        privileged=5.0,
        kernel_fraction=0.15,
    ),
}


def check_profile(value: str | Mapping[str, float] | None) -> str | dict[str, float] | None:
    """Validate a scenario's ``profile`` field; errors name what is allowed."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in PRESETS:
            raise ValueError(
                f"unknown operation profile {value!r}; presets: {', '.join(PRESETS)} "
                "(or give rates per MI of work)"
            )
        return value
    unknown = sorted(set(value) - set(RATE_KEYS))
    if unknown:
        raise ValueError(
            f"unknown rate(s) {', '.join(map(repr, unknown))} in operation profile; "
            f"allowed: {', '.join(RATE_KEYS)}"
        )
    for k, v in value.items():
        if not 0 <= v < float("inf") or (k == "kernel_fraction" and v > 1):
            raise ValueError(
                f"profile rate {k} = {v} must be >= 0"
                + (" and <= 1" if k == "kernel_fraction" else "")
            )
    return dict(value)


def resolve_profile(value: str | Mapping[str, float] | None) -> OperationProfile:
    """A preset name, a dict of rates (missing ones are 0) or None (the ``default`` preset)."""
    if value is None:
        return PRESETS["default"]
    if isinstance(value, str):
        check_profile(value)
        return PRESETS[value]
    return OperationProfile(**check_profile(value))


# --------------------------------------------------------------------------- costs
class ModeCosts(BaseModel):
    """Extra CPU cycles per event a mode spends on the guest's vCPU, and its fixed costs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exit: float = Field(0.0, ge=0, description="one transfer to the monitor and back")
    syscalls: float = 0.0
    page_faults: float = 0.0
    pt_updates: float = 0.0
    tlb_misses: float = 0.0
    interrupts: float = 0.0
    privileged: float = 0.0
    kernel_code: float = Field(0.0, ge=0, description="slowdown of kernel-mode code (fraction)")
    memory_fixed: float = Field(0.0, ge=0, description="bytes per VM: monitor, device model")
    memory_per_vcpu: float = Field(0.0, ge=0, description="bytes per vCPU")
    memory_fraction: float = Field(0.0, ge=0, description="of guest memory: shadow/EPT tables")
    boot_s: float = Field(0.0, ge=0, description="default boot or start time")


# Boot/start time. A VM boots a whole guest OS; a container starts processes in fresh
# namespaces. 30 s and 0.5 s: the engine's defaults (vsim.scenario.schema.DEFAULT_BOOT_S).
_VM_BOOT_S = 30.0
_CONTAINER_START_S = 0.5

MODE_COSTS: dict[str, ModeCosts] = {
    "native": ModeCosts(boot_s=_CONTAINER_START_S),
    # Containers run on the host kernel: system calls, faults and page walks are native
    # (Felter: Linpack, STREAM and RandomAccess under Docker equal native within noise).
    # The runtime's shim process is a few MB; counted as nothing.
    "container": ModeCosts(boot_s=_CONTAINER_START_S),
    # Classic trap-and-emulate (Popek & Goldberg 1974) with shadow page tables, priced as if
    # x86 could do it: the guest kernel runs deprivileged and every privileged instruction
    # faults to the monitor. A fault round trip on the Pentium 4 is taken as ~1000 cycles
    # (recalled from A&A's "divzero" nanobenchmark; not verified against the paper text) plus
    # ~500 cycles to decode and emulate: 1500 per trap (derived from those two estimates).
    "trap_and_emulate": ModeCosts(
        exit=1500.0,
        # the syscall is reflected by the monitor, and the guest's return (iret) traps: 2 traps
        syscalls=3000.0,
        # a hidden fault, reflection, the guest handler's privileged instructions and the
        # traced PTE write: ~5 traps plus ~500 cycles of shadow work (derived)
        page_faults=8000.0,
        # a traced PTE write: trap, decode, update the shadow entry (derived: 1500 + 1500)
        pt_updates=3000.0,
        interrupts=3000.0,  # the interrupt and the guest's iret each trap (derived)
        privileged=1500.0,
        # kernel code executes a sensitive instruction (cli/sti/popf) about every 3000 cycles,
        # each of which traps: 1500 / 3000 = 0.5 (derived estimate)
        kernel_code=0.5,
        memory_fixed=32 * MiB,
        memory_per_vcpu=1 * MiB,
        memory_fraction=0.01,  # shadow tables for ~4 cached address spaces: 4 x 8 B per 4 KiB
        boot_s=_VM_BOOT_S,
    ),
    # Binary translation (VMware's software VMM, A&A): user code runs directly, kernel code is
    # translated; sensitive instructions become inline code or callouts; shadow page tables.
    "binary_translation": ModeCosts(
        # a callout into the monitor's device model, cheaper than a VM exit (estimate)
        exit=1000.0,
        # A&A nanobenchmark "syscall", recalled as ~2300 cycles vs ~240 native: not verified
        # against the paper text
        syscalls=2100.0,
        # A&A nanobenchmark "pgfault", recalled as ~3.5x native (~1100 cycles): not verified
        page_faults=2800.0,
        # adaptive BT turns traced PTE writes into callouts, cheaper than the hardware VMM's
        # exits (A&A's "ptemod" comparison, not verified); calibrated to A&A forkwait
        pt_updates=1300.0,
        interrupts=1500.0,
        privileged=300.0,  # translated inline or a short callout (estimate)
        kernel_code=0.10,  # translated kernel code: indirect control flow, call/ret (calibrated)
        memory_fixed=64 * MiB,  # monitor and translation cache
        memory_per_vcpu=2 * MiB,
        memory_fraction=0.01,  # shadow page tables, as above
        boot_s=_VM_BOOT_S,
    ),
    # Paravirtualization (Xen, Barham et al., "Xen and the Art of Virtualization", SOSP 2003):
    # the guest kernel is modified to make hypercalls; system calls go straight to the guest
    # kernel through a fast trap handler; page-table updates are validated hypercalls, batched.
    "paravirtual": ModeCosts(
        exit=700.0,  # a hypercall or event-channel notification (estimate: a ring transition)
        syscalls=50.0,  # fast system-call path: near native (Barham et al. §3.3)
        page_faults=1000.0,  # faults go through Xen, which must read CR2: one extra transition
        pt_updates=500.0,  # mmu_update hypercalls, amortized over a batch (Barham et al. §3.3)
        interrupts=700.0,  # event channels
        privileged=700.0,  # one hypercall each
        memory_fixed=16 * MiB,  # hypervisor per-domain state; device backends live in dom0
        memory_per_vcpu=1 * MiB,
        boot_s=_VM_BOOT_S,
    ),
    # First-generation hardware assistance (VT-x on the Pentium 4, A&A) with shadow paging:
    # system calls run at native speed, but every page-table event exits. ~2400 cycles per VM
    # exit/entry round trip on that processor is a recollection (of A&A and of Agesen et al.,
    # "Software Techniques for Avoiding Hardware Virtualization Exits", USENIX ATC 2012): not
    # verified against the paper text. Only qualitative support was found: a VMware blog chart
    # of VM-exit latency falling from the Pentium 4 (Prescott) to Core i7 (Nehalem), without
    # its numbers in the text. For scale, Landau, Ben-Yehuda and Gordon ("SplitX", Table 1)
    # measured a direct exit cost of ~2,000 cycles with KVM on a Xeon X5570 (Nehalem).
    "hardware_assisted": ModeCosts(
        exit=2400.0,
        syscalls=0.0,  # no exit: VT-x runs guest system calls without the monitor
        # A&A nanobenchmark "pgfault", recalled as ~10x native (~11,000 cycles): not verified
        page_faults=10000.0,
        # a traced PTE write: an exit, decode and emulate, shadow update; calibrated to A&A
        # forkwait (the forkwait times are confirmed via a secondary source)
        pt_updates=4200.0,
        interrupts=5000.0,  # the external-interrupt exit, injection and the EOI exit: ~2 exits
        privileged=4000.0,  # CR3 loads exit and switch shadow tables: an exit plus ~1600
        memory_fixed=128 * MiB,  # a QEMU-style device-model process
        memory_per_vcpu=2 * MiB,
        memory_fraction=0.01,
        boot_s=_VM_BOOT_S,
    ),
    # Hardware assistance with nested paging (EPT/NPT; KVM as measured by Felter): the guest
    # owns its page tables, so faults, PTE writes and CR3 loads no longer exit; the price is
    # the two-dimensional page walk on a TLB miss (Bhargava et al., "Accelerating
    # Two-Dimensional Page Walks for Virtualized Systems", ASPLOS 2008: the extra dimension
    # raises the maximum number of page-table references). With 4-level guest and nested
    # tables that maximum is 24 instead of 4 (derived: each of the 5 guest-physical addresses,
    # 4 table pointers and the final one, takes a 4-reference nested walk, plus the 4 guest
    # entries; the count itself was not found in the retrieved text). Page-walk caches absorb
    # most of them: ~60 extra cycles per miss is our estimate, consistent with Felter's
    # RandomAccess (KVM 0.99 of native in the authors' logs).
    "hardware_assisted_nested_paging": ModeCosts(
        # ~500-cycle hardware round trip on 2010s cores plus the hypervisor's minimal handling.
        # The 500 is recalled from Agesen et al. 2012 and not verified against the paper text;
        # SplitX's ~2,000 cycles on Nehalem (see hardware_assisted) suggests 800 may be low for
        # 2009-era parts. Kept: it enters only the I/O and packet costs, which are calibrated
        # to Felter's fio and netperf results together with the virtio costs below.
        exit=800.0,
        tlb_misses=60.0,
        interrupts=1500.0,  # interrupt exit, injection, EOI (no posted interrupts)
        privileged=1500.0,  # MSR writes, port I/O handled in the host kernel
        # QEMU's resident memory for a small VM taken as ~100+ MiB (recalled from Agache et al.,
        # "Firecracker: Lightweight Virtualization for Serverless Applications", NSDI 2020: not
        # verified against the paper text; third-party notes on that paper confirm only
        # Firecracker's own overhead, ~3 MB per microVM)
        memory_fixed=128 * MiB,
        memory_per_vcpu=2 * MiB,
        memory_fraction=1 / 512,  # EPT tables: 8 bytes per 4 KiB page
        boot_s=_VM_BOOT_S,
    ),
}


class IoPathCosts(BaseModel):
    """What a guest's device path costs per disk I/O and per network packet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exits_per_io: float = Field(0.0, ge=0, description="monitor transfers on the vCPU per I/O")
    host_cycles_per_io: float = Field(0.0, ge=0, description="device model / backend work")
    io_latency_s: float = Field(0.0, ge=0, description="latency added per disk I/O")
    exits_per_packet: float = Field(0.0, ge=0)
    host_cycles_per_packet: float = Field(0.0, ge=0)
    rtt_latency_s: float = Field(0.0, ge=0, description="latency added per network round trip")
    # Split drivers only: the back end's work in the driver domain (dom0), a consumer of its
    # own on the host (vsim.model.driver_domain), not part of the guest's CPU request.
    dom0_cycles_per_io: float = Field(0.0, ge=0, description="driver-domain work per disk I/O")
    dom0_cycles_per_packet: float = Field(
        0.0, ge=0, description="driver-domain work per network packet"
    )


IO_PATH_COSTS: dict[str, IoPathCosts] = {
    # A fully emulated device (QEMU IDE / e1000; Sugerman et al., "Virtualizing I/O Devices on
    # VMware Workstation's Hosted Virtual Machine Monitor", USENIX ATC 2001): each request is a
    # series of register accesses, each exiting to a device model in a host process.
    "emulated": IoPathCosts(
        exits_per_io=6.0,
        host_cycles_per_io=60000.0,
        io_latency_s=50e-6,
        exits_per_packet=4.0,
        host_cycles_per_packet=20000.0,
        rtt_latency_s=60e-6,
    ),
    # Paravirtual devices (virtio: Russell, "virtio: Towards a De-Facto Standard for Virtual
    # I/O Devices", OSR 2008): one notification per request, the backend
    # (QEMU or vhost) on a host thread. host_cycles_per_io is calibrated to Felter's random-
    # I/O result (KVM 0.51 of native IOPS for 4 KiB random reads, 128 outstanding, in the
    # authors' result logs); rtt_latency_s so that with the CPU cost of its packets KVM adds
    # about 30 us per netperf TCP_RR transaction (Felter; that figure is not verified).
    "paravirtual": IoPathCosts(
        exits_per_io=1.0,
        host_cycles_per_io=18000.0,
        io_latency_s=15e-6,
        exits_per_packet=0.5,
        host_cycles_per_packet=4000.0,
        rtt_latency_s=20e-6,
    ),
    # Device assignment / SR-IOV with an IOMMU: the guest drives the device; what is left is
    # interrupt delivery (counted under interrupts) and IOMMU translation (Dong et al., "High
    # Performance Network Virtualization with SR-IOV", HPCA 2010; Gordon et al., "ELI:
    # Bare-Metal Performance for I/O Virtualization", ASPLOS 2012).
    "passthrough": IoPathCosts(io_latency_s=1e-6, rtt_latency_s=2e-6),
    # Xen's split drivers (Barham et al., SOSP 2003; Xen 2.0/3.0 as measured in 2005-2006): the
    # guest's front end (netfront, blkfront) queues a request on a ring shared with the back end
    # (netback, blkback) in the driver domain, grants it access to the buffer pages and
    # notifies it on an event channel; the back end drives the real device with the native
    # Linux driver, and for a received packet Xen 2.0 flips the page into the guest (Xen 3.0
    # copies it). So most of the cost sits in dom0, on whatever core dom0 runs on, and the
    # rest in Xen itself (grant-table and page-remapping hypercalls).
    #
    # Checked figures (quoted in the code's tests and docs; they test the costs, nothing was
    # fitted to them):
    # - Cherkasova & Gardner, USENIX ATC 2005, as summarised by Gupta, Cherkasova, Gardner and
    #   Vahdat ("Enforcing Performance Isolation Across Virtual Machines in Xen", Middleware
    #   2006, introduction): dom0's CPU overhead for I/O done on a guest's behalf reaches
    #   20 %-45 % for a web server (of what is not said; read as of the guest's own CPU).
    # - Menon, Cox, Zwaenepoel, "Optimizing Network Virtualization in Xen", USENIX ATC 2006,
    #   abstract: even after their optimizations, receive throughput in a guest trails native
    #   Linux by 61 % (an 18 % improvement, so 0.39 / 1.18 = 0.33 of native before), while
    #   the driver domain itself comes within 7 % of native: the cost is in the guest-to-dom0
    #   path, not in the device driver. The 0.33 agrees with the recollection below.
    # The cycle counts themselves are derived from recollections that could not be checked
    # against the paper text: Menon et al., VEE 2005 ("Diagnosing Performance Overheads in the
    # Xen Virtual Machine Environment"), receive over four gigabit NICs on one CPU, recalled as
    # ~2,500 Mb/s native and ~820 Mb/s into a guest, i.e. ~3x the native cycles per packet
    # (~11,500 cycles native at 2.4 GHz for 1500-byte packets, derived), so ~23,000 extra
    # cycles per packet; their Xenoprof profile is recalled as putting most of the extra in
    # dom0 (bridge, netback) and in Xen (page remapping). The split below is our estimate.
    "xen_split": IoPathCosts(
        exits_per_io=1.0,  # one event-channel notification per request (estimate: batching
        exits_per_packet=1.0,  # is modelled by lowering these rates in a profile)
        host_cycles_per_io=2000.0,  # Xen: grant map/unmap of the request's pages (estimate)
        host_cycles_per_packet=8000.0,  # Xen: page flip / grant copy, TLB flush (derived above)
        dom0_cycles_per_io=10000.0,  # blkback + the native block driver (estimate)
        dom0_cycles_per_packet=15000.0,  # native NIC driver, bridge, netback (derived above)
        io_latency_s=20e-6,  # two domain switches on the request path (estimate)
        rtt_latency_s=40e-6,  # each way through dom0's bridge and netback (estimate)
    ),
}

# Container networking. ``host`` shares the host's network namespace: nothing added. ``bridge``
# goes through a veth pair, the Linux bridge and iptables NAT in the host kernel for every
# packet (Felter reports NAT adding latency and --net=host not; not verified against the
# paper text). Per-packet cycles and per-round-trip latency are estimates.
CONTAINER_NETWORK_COSTS: dict[str, IoPathCosts] = {
    "host": IoPathCosts(),
    "bridge": IoPathCosts(host_cycles_per_packet=2500.0, rtt_latency_s=8e-6),
}


def mode_costs(mode: str) -> ModeCosts:
    if mode not in MODE_COSTS:
        raise ValueError(f"unknown virtualization mode {mode!r}; modes: {', '.join(MODES)}")
    return MODE_COSTS[mode]
