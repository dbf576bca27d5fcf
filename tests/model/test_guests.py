"""The guest table's host index: each host's guests as a scan of ``host`` would find them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import host, scenario, vm
from vsim.model.guests import GuestTable


def table(n: int = 12) -> GuestTable:
    return GuestTable.from_scenario(scenario([host(count=4)], [vm("v", count=n)]))


def test_on_host_follows_every_placement_move_and_removal():
    g = table()
    rng = np.random.default_rng(7)
    for _ in range(200):
        k = int(rng.integers(1, 5))
        idx = rng.choice(g.n, size=k, replace=False)
        where = rng.integers(-1, 4, size=k) if rng.random() < 0.5 else int(rng.integers(-1, 4))
        if k == 1 and np.ndim(where) == 0:
            g.place(int(idx[0]), where)  # one guest, as a move does
        else:
            g.place(idx, where)
        for h in range(4):
            np.testing.assert_array_equal(g.on_host(h), np.flatnonzero(g.host == h))
    assert sum(len(g.on_host(h)) for h in range(4)) == int((g.host >= 0).sum())


def test_host_is_changed_only_through_place():
    g = table()
    with pytest.raises(ValueError, match="read-only"):
        g.host[0] = 1
    g.place([0, 3], 2)
    assert g.host[[0, 3]].tolist() == [2, 2]
    with pytest.raises(ValueError, match="read-only"):
        g.on_host(2)[0] = 5
