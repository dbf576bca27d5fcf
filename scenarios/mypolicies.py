"""Two policies of one's own, named from scenarios/own-policies.yaml (see docs/policies.md)."""

import numpy as np


def least_loaded(request, view):
    """Placement: the feasible host with the most free CPU (the lowest index among equals)."""
    if not view.feasible.any():
        return -1
    free_cpu = np.where(view.feasible, view.free["cpu"], -np.inf)
    return int(np.argmax(free_cpu))


def above_mean(loads, margin=0.15):
    """Overload detection: a host is overloaded when its utilization exceeds the mean of its
    recent history by more than ``margin``, or exceeds 90 % whatever its history."""
    w = loads.history.shape[1]
    valid = np.arange(w) >= w - loads.n_history[:, None]  # the last n samples of each row
    count = np.maximum(loads.n_history, 1)
    mean = np.where(valid, loads.history, 0.0).sum(axis=1) / count
    return (loads.utilization > 0.9) | (
        (loads.n_history >= 3) & (loads.utilization > mean + margin)
    )
