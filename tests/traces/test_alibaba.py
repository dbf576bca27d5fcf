"""Tests for the Alibaba v2017 (batch tasks, server events) and gpu-v2023 openb readers."""

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import shared_data
from vsim.traces import (
    TraceError,
    TraceWindow,
    alibaba2017_machines,
    alibaba2017_tasks_frame,
    openb_nodes,
    read_alibaba2017_tasks,
    read_openb_pods,
    server_events_frame,
)

TASKS = (
    "100,400,1,11,3,Terminated,50,0.01\n"  # 3 instances of 0.5 core from 100 to 400 s
    "-5,200,1,12,1,Failed,200,0.5\n"  # created before the trace: arrives at 0
    "10,20,2,13,4,Waiting,,\n"  # no request: dropped
    "300,300,2,14,1,Terminated,100,0.1\n"  # ends at its create time: dropped
)


def test_batch_tasks_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "batch_task.csv"
    path.write_text(TASKS)
    frame = alibaba2017_tasks_frame(path)
    assert len(frame) == 4 and frame["cpus_per_instance"].iloc[1] == 2.0
    w = read_alibaba2017_tasks(path, memory_scale=1000.0)
    assert w.guests.names == ("12", "11")  # in create order
    np.testing.assert_allclose(w.guests.vcpus, [2.0, 0.5])
    np.testing.assert_allclose(w.guests.memory, [500.0, 10.0])
    np.testing.assert_array_equal(w.guests.count, [1, 3])
    np.testing.assert_allclose(w.guests.start, [0.0, 100.0])
    np.testing.assert_allclose(w.guests.stop, [200.0, 400.0])
    assert w.dropped["no_cpu_request"] == 1 and w.dropped["end_not_after_create"] == 1
    assert w.demand is None
    one = read_alibaba2017_tasks(path, instances="one", window=TraceWindow(150.0, 300.0))
    assert one.guests.count is None and one.guests.memory is None  # no scale: no memory
    np.testing.assert_allclose(one.guests.start, [0.0, 0.0])
    np.testing.assert_allclose(one.guests.stop, [50.0, np.inf])


def test_header_line_is_skipped_and_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(" task_create_time, task_end_time, a,b,c,d,e,f\n" + TASKS)
    assert len(alibaba2017_tasks_frame(path)) == 4
    path.write_text(TASKS.replace("Failed", "Exploded"))
    with pytest.raises(TraceError, match=r"t\.csv, line 2, field 'status': 'Exploded'; allowed"):
        alibaba2017_tasks_frame(path)
    path.write_text(TASKS.replace(",200,1,12", ",2x0,1,12"))
    with pytest.raises(TraceError, match=r"line 2, field 'end_s': '2x0' is not a number"):
        alibaba2017_tasks_frame(path)
    path.write_text(TASKS + "1,2,3\n")
    with pytest.raises(TraceError, match=r"t\.csv, line 5: 3 fields, expected 8"):
        alibaba2017_tasks_frame(path)


def test_server_events_and_machines(tmp_path: Path) -> None:
    path = tmp_path / "server_event.csv"
    path.write_text("0,2,add,,64,0.5,1\n0,1,add,,32,1.0,1\n50,2,softerror,machine_fail,0,0,0\n")
    m = alibaba2017_machines(path, memory_scale=2.0**30)
    assert m.names == ("1", "2")
    np.testing.assert_allclose(m.cores, [32, 64])
    np.testing.assert_allclose(m.memory, [2.0**30, 2.0**29])
    path.write_text("0,2,boom,,64,0.5,1\n")
    with pytest.raises(TraceError, match=r"line 1, field 'event': 'boom'"):
        server_events_frame(path)


def test_openb_by_hand_and_errors(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,32000,1024,0,\nn1,500,2,8,V100\n")
    n = openb_nodes(nodes)
    np.testing.assert_allclose(n.cores, [32.0, 0.5])
    np.testing.assert_allclose(n.memory, [2.0**30, 2 * 2.0**20])
    pods = tmp_path / "pods.csv"
    header = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    header += "creation_time,deletion_time,scheduled_time\n"
    pods.write_text(
        header + "p0,1500,512,0,0,,LS,Running,10,70,10\np1,100,1,1,500,,BE,Failed,5,9,5\n"
    )
    w = read_openb_pods(pods)
    assert w.guests.names == ("p1", "p0")
    np.testing.assert_allclose(w.guests.vcpus, [0.1, 1.5])
    np.testing.assert_allclose(w.guests.stop, [9.0, 70.0])
    assert read_openb_pods(pods, gpu_pods=False).guests.names == ("p0",)
    pods.write_text(header.replace("cpu_milli", "cpu") + "p0,1,1,0,0,,LS,Running,0,1,0\n")
    with pytest.raises(TraceError, match=r"pods\.csv, line 1: missing column\(s\) \['cpu_milli'\]"):
        read_openb_pods(pods)


def test_real_alibaba_2017_values_read_by_hand() -> None:
    path = shared_data("alibaba-2017", "batch_task.csv.gz")
    frame = alibaba2017_tasks_frame(path)
    assert len(frame) == 80553
    # First row: 6459,6524,3,4,15740,Terminated,50,0.007956928; last: ...,80456,131,...
    assert tuple(frame.iloc[0][["create_s", "end_s", "task_id", "instances"]]) == (
        6459,
        6524,
        4,
        15740,
    )
    assert frame["cpus_per_instance"].iloc[0] == 0.5
    assert frame["task_id"].iloc[-1] == 80456 and frame["instances"].iloc[-1] == 131
    w = read_alibaba2017_tasks(path, instances="one")
    assert w.dropped["no_cpu_request"] == 9017  # the README's count of empty requests
    events = server_events_frame(shared_data("alibaba-2017", "server_event.csv"))
    assert len(events) == 1352 and (events["event"] == "softerror").sum() == 39
    machines = alibaba2017_machines(shared_data("alibaba-2017", "server_event.csv"))
    assert len(machines) == 1313 and set(machines.cores) == {64.0}


def test_real_openb_values_read_by_hand() -> None:
    n = openb_nodes(shared_data("alibaba-openb-2023", "openb_node_list_all_node.csv"))
    assert len(n) == 1523
    assert n.names[0] == "openb-node-0000" and n.cores[0] == 32.0 and n.memory[0] == 256 * 2**30
    w = read_openb_pods(shared_data("alibaba-openb-2023", "openb_pod_list_default.csv"))
    assert len(w.guests) + w.dropped["deletion_not_after_creation"] == 8152
    assert w.guests.names[0] == "openb-pod-0000"  # created at 0: 12 cores, 16 GiB
    assert w.guests.vcpus[0] == 12.0 and w.guests.memory[0] == 16 * 2**30
    assert w.guests.stop[0] == 12537496.0
