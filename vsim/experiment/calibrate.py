"""Calibration: the published virtualization benchmarks run as vsim scenarios.

Each benchmark becomes one scenario: one single-core host per mode (plus one for native), each
holding one guest pinned to it that runs a batch job with the benchmark's operation profile.
The host has exactly the guest's one core, as on the dedicated machines of the papers, so
work the hypervisor does outside the vCPU (device emulation, NAT) displaces the guest's own.
The job's time under a mode against native gives vsim's relative performance,

    relative = native runtime / mode runtime      (1.0 = native speed, higher is better)

which is compared with the paper's figure. Latency benchmarks (netperf TCP_RR) are computed in
closed form from the overhead model, since the engine does not yet model request latency:
relative = native RTT / (native RTT + added RTT latency + transaction CPU x (alpha + beta)).

The benchmarks' profiles are estimated from what each program does (rates per MI of native
work, MI counted as 1e6 cycles); the comments give the arithmetic. Paper figures marked
"approx." are read from bar charts; a ``None`` paper figure means the paper reports the
ordering used in the tests but no number used here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from vsim.model.overhead import cost
from vsim.scenario import validate_scenario

AA = "Adams & Agesen, ASPLOS 2006"
FELTER = "Felter et al., IBM RC25482 (2014) / ISPASS 2015"
AA_VMMS = ("binary_translation", "hardware_assisted")


@dataclass(frozen=True)
class Benchmark:
    name: str
    profile: dict[str, float]
    paper: dict[str, float | None]  # mode -> relative performance in the paper
    source: str
    io_path: str = "paravirtual"
    networks: dict[str, str] = field(default_factory=dict)  # mode label -> container network
    # latency benchmarks only: native round trip and CPU per transaction at 1000 MIPS
    native_rtt_s: float | None = None
    transaction_mi: float = 0.0


BENCHMARKS: tuple[Benchmark, ...] = (
    # ---------------------------------------------------------------- Adams & Agesen 2006
    # SPECint 2000: compute-bound, both VMMs within a few % of native (A&A Fig. 2; approx.).
    Benchmark(
        "specint2000",
        {
            "syscalls": 0.5,
            "page_faults": 0.5,
            "pt_updates": 1,
            "tlb_misses": 20,
            "interrupts": 0.3,
            "privileged": 0.5,
            "kernel_fraction": 0.02,
        },
        {"binary_translation": 0.97, "hardware_assisted": 0.97},
        f"{AA}, Fig. 2 (approx.)",
    ),
    # forkwait: 40,000 fork/wait pairs; native 6.0 s, software VMM 36.9 s, hardware VMM
    # 106.4 s (A&A §6.1). One iteration is 150 us = ~570k cycles at 3.8 GHz; estimated per
    # iteration: ~2000 PTE writes (write-protecting and copying, then tearing down, the
    # child's mappings), ~100 page faults (copy-on-write), 4 system calls, ~40 CR3 loads and
    # other privileged operations; 90 % in the kernel. Per MI: divide by 0.57.
    Benchmark(
        "forkwait",
        {
            "syscalls": 7,
            "page_faults": 175,
            "pt_updates": 3500,
            "tlb_misses": 50,
            "interrupts": 0.3,
            "privileged": 70,
            "kernel_fraction": 0.9,
        },
        {"binary_translation": 6.0 / 36.9, "hardware_assisted": 6.0 / 106.4},
        f"{AA}, §6.1 forkwait (6.0 / 36.9 / 106.4 s)",
    ),
    # Nanobenchmark "syscall": a null system call, ~240 cycles native (~4100 per MI), ~10x
    # slower under BT, native speed under VT-x (A&A Fig. 4, log scale; approx.).
    Benchmark(
        "nano_syscall",
        {"syscalls": 1e6 / 242, "kernel_fraction": 0.7},
        {"binary_translation": 0.10, "hardware_assisted": 1.0},
        f"{AA}, Fig. 4 syscall (approx.)",
    ),
    # Nanobenchmark "pgfault": a page fault, ~1100 cycles native (~900 per MI): ~3.5x slower
    # under BT, ~10x under VT-x with shadow paging (A&A Fig. 4, log scale; approx.).
    Benchmark(
        "nano_pgfault",
        {"page_faults": 1e6 / 1100, "kernel_fraction": 0.9},
        {"binary_translation": 0.28, "hardware_assisted": 0.10},
        f"{AA}, Fig. 4 pgfault (approx.)",
    ),
    # Kernel compile: A&A report the hardware VMM slower than the software one on compile
    # jobs (Fig. 3); the syscall_heavy preset stands for it. Ordering only.
    Benchmark(
        "kernel_compile",
        {
            "syscalls": 20,
            "page_faults": 10,
            "pt_updates": 60,
            "tlb_misses": 100,
            "io_ops": 0.2,
            "interrupts": 1,
            "privileged": 15,
            "kernel_fraction": 0.3,
        },
        {"binary_translation": None, "hardware_assisted": None},
        f"{AA}, Fig. 3 (ordering: hardware VMM below software VMM)",
    ),
    # ---------------------------------------------------------------- Felter et al. 2014
    # Linpack: Docker 290.9 vs native 290.8 GFLOPS, tuned KVM 284.2 (Felter Fig. 1 / §IV-A).
    Benchmark(
        "linpack",
        {
            "syscalls": 0.5,
            "page_faults": 0.5,
            "pt_updates": 1,
            "tlb_misses": 20,
            "interrupts": 0.3,
            "privileged": 0.5,
            "kernel_fraction": 0.02,
        },
        {"container": 290.9 / 290.8, "hardware_assisted_nested_paging": 284.2 / 290.8},
        f"{FELTER}, Fig. 1 Linpack",
    ),
    # STREAM: sequential; about one page walk per 4 KiB page streamed, ~100 per MI.
    # Docker and KVM within ~1-2 % of native (Felter Table II; approx.).
    Benchmark(
        "stream",
        {
            "syscalls": 0.5,
            "page_faults": 0.5,
            "pt_updates": 1,
            "tlb_misses": 100,
            "interrupts": 0.3,
            "privileged": 0.5,
            "kernel_fraction": 0.02,
        },
        {"container": 1.0, "hardware_assisted_nested_paging": 0.99},
        f"{FELTER}, Table II STREAM (approx.)",
    ),
    # RandomAccess: about one page walk per 3000 cycles (~300 per MI); Docker and KVM equal
    # to native within noise (Felter Table III; approx.).
    Benchmark(
        "randomaccess",
        {
            "syscalls": 0.5,
            "page_faults": 0.5,
            "pt_updates": 1,
            "tlb_misses": 300,
            "interrupts": 0.3,
            "privileged": 0.5,
            "kernel_fraction": 0.02,
        },
        {"container": 1.0, "hardware_assisted_nested_paging": 0.99},
        f"{FELTER}, Table III RandomAccess (approx.)",
    ),
    # fio random 4 KiB I/O: ~20k cycles of native work per I/O (fio, block layer, driver),
    # i.e. 50 I/Os, 50 completions and 50 submissions per MI. Docker equals native; KVM
    # (virtio, QEMU) delivers about half the IOPS (Felter Fig. 8; approx.).
    Benchmark(
        "fio_random_iops",
        {"syscalls": 50, "io_ops": 50, "interrupts": 50, "privileged": 1, "kernel_fraction": 0.6},
        {"container": 1.0, "hardware_assisted_nested_paging": 0.5},
        f"{FELTER}, Fig. 8 random I/O (approx.)",
    ),
    # netperf TCP_RR: KVM adds ~30 us per transaction, +80 %, so native is ~37.5 us (Felter
    # §IV-C, Fig. 5); Docker with --net=host equals native; Docker NAT adds latency (ordering
    # only). A transaction: ~0.03 MI of CPU, 2 packets, 4 system calls, 1 interrupt.
    Benchmark(
        "netperf_tcp_rr",
        {
            "syscalls": 4 / 0.03,
            "net_packets": 2 / 0.03,
            "interrupts": 1 / 0.03,
            "kernel_fraction": 0.8,
        },
        {
            "container/host": 1.0,
            "container/bridge": None,
            "hardware_assisted_nested_paging": 1 / 1.8,
        },
        f"{FELTER}, Fig. 5 TCP_RR (+30 us, +80 % for KVM)",
        networks={"container/host": "host", "container/bridge": "bridge"},
        native_rtt_s=37.5e-6,
        transaction_mi=0.03,
    ),
)

CORE_MIPS = 1000.0
JOB_MI = 1000.0  # one second of native work


def _mode(label: str) -> str:
    return label.split("/")[0]


def _scenario(b: Benchmark, labels: list[str]):
    guests = []
    for i, label in enumerate(labels):
        mode = _mode(label)
        guests.append(
            {
                "name": f"g{i}",
                "kind": "container" if mode in ("container", "native") else "vm",
                "vcpus": 1,
                "vcpu_mips": CORE_MIPS,
                "memory": "1GiB",
                "workload": "bench",
                "host": f"h-{i}",
                "boot_time": 0,
                "virtualization": mode,
                "io_path": b.io_path,
                "network": b.networks.get(label, "bridge"),
            }
        )
    return validate_scenario(
        {
            "name": f"calibrate-{b.name}",
            "duration": 1e5,
            "sample_interval": 1e5,
            "datacenter": {
                "host_types": [
                    {
                        "name": "h",
                        "count": len(labels),
                        "cores": 1,
                        "core_mips": CORE_MIPS,
                        "memory": "16GiB",
                    }
                ]
            },
            "workloads": {"bench": {"kind": "batch", "cpu_work": JOB_MI, "profile": b.profile}},
            "guests": guests,
        }
    )


def _run_relative(b: Benchmark, labels: list[str]) -> dict[str, float]:
    """Relative performance of each mode label from a vsim run (first label: native)."""
    from vsim.experiment.run import run

    res = run(_scenario(b, labels))
    ev = res.events
    done = ev[ev.kind == "job_done"].set_index("subject").time_s
    times = {label: float(done[f"g{i}"]) for i, label in enumerate(labels)}
    return {label: times["native"] / t for label, t in times.items()}


def _latency_relative(b: Benchmark, labels: list[str]) -> dict[str, float]:
    """Relative round-trip performance in closed form (the engine has no request latency yet)."""
    tx_s = b.transaction_mi / CORE_MIPS
    out = {}
    for label in labels:
        c = cost(
            b.profile,
            _mode(label),
            io_path=b.io_path,
            network=b.networks.get(label, "bridge"),
            vcpu_mips=CORE_MIPS,
        )
        rtt = b.native_rtt_s + c.net_latency_s + tx_s * (c.cpu_in_guest + c.cpu_on_host)
        out[label] = b.native_rtt_s / rtt
    return out


def calibrate(benchmarks: tuple[Benchmark, ...] = BENCHMARKS) -> pd.DataFrame:
    """Run every benchmark; one row per (benchmark, mode) with the paper's and vsim's figure.

    ``error`` is (vsim - paper) / paper, NaN where the paper gives only an ordering.
    """
    rows = []
    for b in benchmarks:
        labels = ["native", *b.paper]
        if b.native_rtt_s is None:
            rel, method = _run_relative(b, labels), "run"
        else:
            rel, method = _latency_relative(b, labels), "closed form"
        for label, paper in b.paper.items():
            err = (rel[label] - paper) / paper if paper is not None else float("nan")
            rows.append(
                {
                    "benchmark": b.name,
                    "mode": label,
                    "paper": float("nan") if paper is None else paper,
                    "vsim": rel[label],
                    "error": err,
                    "method": method,
                    "source": b.source,
                }
            )
    return pd.DataFrame(rows)


def format_report(table: pd.DataFrame, *, sources: bool = False) -> str:
    """The calibration table as aligned text, errors in percent."""
    t = table.copy()
    t["paper"] = t["paper"].map(lambda v: "-" if pd.isna(v) else f"{v:.3f}")
    t["vsim"] = t["vsim"].map("{:.3f}".format)
    t["error"] = t["error"].map(lambda v: "-" if pd.isna(v) else f"{v:+.1%}")
    cols = ["benchmark", "mode", "paper", "vsim", "error", "method"]
    if sources:
        cols.append("source")
    return t[cols].to_string(index=False)
