"""Multi-resource placement scoring over all hosts at once.

A :class:`HostPool` holds the capacity and the usage of every host, one preallocated float64
array per resource (``"cpu"`` in MIPS, ``"memory"`` in bytes, ``"disk"`` and ``"net"`` in bytes/s
for the engine, but any ordered tuple of resource names works). One array per resource rather
than a (hosts x resources) matrix: each step touches a few contiguous vectors instead of strided
columns.

Definitions, per host and resource (``c = cap_r``, ``u = used_r``, ``q = req_r``)::

    slack_r = (c + 1e-9 * c) - u         # room left, with a relative slack for rounding
    inv_r   = 1 / c, or 0 if that is not finite (c == 0: the host lacks the resource;
              c == inf: the resource is unlimited there)
    g_r     = (c - u) * inv_r, or 0 if inv_r == 0   # normalized free capacity

A host is *feasible* for a request if it is enabled, not excluded and ``q_r <= slack_r`` for
every resource. Policies (only feasible hosts compete, ties go to the lowest host index):

``first_fit``
    lowest-index feasible host.
``best_fit`` / ``worst_fit``
    minimize / maximize the leftover ``A - B`` with ``A = sum_r g_r`` and
    ``B = sum_r q_r * inv_r`` (mathematically ``sum_r (free_r - req_r) / cap_r``).
``dot_product``
    maximize ``sum_r (q_r * inv_r) * g_r``: the dot-product alignment heuristic of Panigrahy et
    al., "Heuristics for Vector Bin Packing", Microsoft Research, 2011.
``balanced``
    minimize the variance across resources of post-placement utilization
    ``(u_r + q_r) * inv_r`` (the idea of Kubernetes' BalancedResourceAllocation).
``random``
    uniform among feasible hosts, ``feasible[rng.integers(len(feasible))]``.
``round_robin``
    first feasible host at index ``>= rr_cursor``, wrapping around; the cursor then moves to
    the chosen host + 1.

Exactness rule: every sum is taken explicitly in resource order (``t0 + t1 + ...``) and every
per-host quantity is computed with the same IEEE operations in the same order whether it is
computed for one host or for all, so a plain-Python reference that follows the formulas above
computes bit-identical scores and therefore identical decisions; no tolerance is involved.

Speed (one decision over 100,000 hosts, see ``benchmarks/kernels.py``):

- ``slack_r``, ``inv_r``, ``g_r`` and ``A`` are cached per host and updated for one host in
  ``allocate``/``release``/``place_batch``; feasibility is one comparison per resource.
- Caches cannot go stale behind the pool's back: ``pool.capacity`` and ``pool.used`` are
  dicts that note which resource's array was handed out (``pool.capacity["cpu"]`` marks cpu
  capacity), and the next call compares that array with a private snapshot and recomputes only
  what changed. ``pool.enabled`` is not cached at all. Code that keeps an array reference and
  writes through it after a later pool call must call :meth:`HostPool.invalidate`.
- best/worst fit do not score every host: ``B`` lies between bounds ``B_lo``/``B_hi`` built
  from the smallest and largest ``inv_r`` (floating-point rounding is monotonic, so the bounds
  hold for the rounded values too), hence the best host has ``A`` within ``B_hi - B_lo`` (plus a
  1e-9 relative margin) of the best ``A`` among feasible hosts; only those hosts are scored
  exactly. When too many hosts are within that band all feasible hosts are scored.
- Masking infeasible hosts is arithmetic (adding 0 or 1e300), not ``np.where``, whose
  data-dependent branches cost ~10x more on random masks; all buffers are preallocated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

__all__ = ["POLICIES", "ORDERS", "HostPool", "Isolation"]

POLICIES: tuple[str, ...] = (
    "first_fit",
    "best_fit",
    "worst_fit",
    "dot_product",
    "balanced",
    "random",
    "round_robin",
)
ORDERS: tuple[str, ...] = ("given", "largest_first")

# Relative slack on capacity so that a request that fits exactly is not rejected because of
# rounding in used + req.
_EPS = 1e-9
# Added to (subtracted from) the scores of infeasible hosts before argmin (argmax); a result
# whose score is not clearly below this is re-checked the slow way.
_BIG = 1e300
# first_fit / round_robin scan this many hosts first, doubling after each miss (a small first
# chunk: in a fleet with room, the first host looked at usually fits).
_CHUNK = 64
# At most this many hosts changed in an array are recomputed one by one, otherwise vectorized.
_FEW = 16


def _check_policy(policy: str) -> None:
    if policy not in POLICIES:
        raise ValueError(f"unknown placement policy {policy!r}; allowed: {', '.join(POLICIES)}")


def _inv(c: float) -> float:
    """``1 / c``, or 0 when that is not finite, as the vectorized caches compute it."""
    if c == 0.0 or c != c:
        return 0.0
    v = 1.0 / c
    return v if math.isfinite(v) else 0.0


class Isolation(Protocol):
    """Hosts each tenant may not use (``forbidden(t)``: bool[H] or None) and the count of a
    tenant's guests per host, kept as a batch places them (``add(h, t)``)."""

    def forbidden(self, t: int) -> np.ndarray | None: ...

    def add(self, h: int, t: int) -> None: ...


class _Tracked(dict):
    """``{resource: array}`` that tells its pool which arrays were handed out (may be written)."""

    def _mark(self, key: object) -> None:
        pool = self.__dict__.get("pool")
        if pool is not None:
            pool._touch(self, key)

    def __getitem__(self, key):
        self._mark(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self._mark(key)
        return dict.get(self, key, default)

    def values(self):
        self._mark(None)
        return dict.values(self)

    def items(self):
        self._mark(None)
        return dict.items(self)

    def copy(self) -> dict:
        self._mark(None)
        return dict(dict.items(self))

    def __setitem__(self, key, value) -> None:
        pool = self.__dict__.get("pool")
        if pool is None:  # unpickling: the pool restores its own references afterwards
            dict.__setitem__(self, key, value)
            return
        pool._replace(self, key, value)

    def _refuse(self, *args, **kwargs):
        raise TypeError("a HostPool's resources are fixed; assign arrays, do not remove keys")

    __delitem__ = pop = popitem = clear = setdefault = update = _refuse


class HostPool:
    """Free/used capacity of every host, one array per resource, with overcommit already applied.

    Attributes
    ----------
    resources:
        resource names, in the order given; scores sum per-resource terms in this order.
    capacity:
        ``{resource: float64[n_hosts]}``, physical capacity times the overcommit ratio; may be
        changed in place (``pool.capacity[r][:] = ...``).
    used:
        ``{resource: float64[n_hosts]}``, allocated amount; normally changed through
        :meth:`allocate` / :meth:`release`, in-place writes are picked up too.
    enabled:
        bool[n_hosts]; hosts that are off or failed are set to False by the caller and never
        chosen.
    rr_cursor:
        next index where ``round_robin`` starts looking.
    n_hosts:
        number of hosts.
    """

    def __init__(
        self,
        capacity: Mapping[str, np.ndarray],
        overcommit: Mapping[str, float] | None = None,
    ) -> None:
        if not capacity:
            raise ValueError("HostPool needs at least one resource")
        overcommit = dict(overcommit or {})
        unknown = set(overcommit) - set(capacity)
        if unknown:
            raise ValueError(
                f"overcommit names unknown resources {sorted(unknown)}; "
                f"resources are {list(capacity)}"
            )
        self.resources: tuple[str, ...] = tuple(capacity)
        caps: list[np.ndarray] = []
        lengths = set()
        for r in self.resources:
            ratio = float(overcommit.get(r, 1.0))
            if not ratio > 0.0:
                raise ValueError(f"overcommit ratio for {r!r} must be > 0, got {ratio}")
            cap = np.array(capacity[r], dtype=np.float64, copy=True).reshape(-1)
            if ratio != 1.0:
                cap *= ratio
            caps.append(cap)
            lengths.add(cap.shape[0])
        if len(lengths) != 1:
            raise ValueError("every resource needs one capacity per host (lengths differ)")
        n = lengths.pop()
        self.n_hosts: int = n
        self.enabled: np.ndarray = np.ones(n, dtype=bool)
        self.rr_cursor: int = 0
        n_res = len(self.resources)
        self._pos = {r: i for i, r in enumerate(self.resources)}
        self._names = frozenset(self.resources)
        self._cap = caps
        self._used = [np.zeros(n, dtype=np.float64) for _ in self.resources]
        self._capacity = _Tracked(zip(self.resources, self._cap, strict=True))
        self._used_d = _Tracked(zip(self.resources, self._used, strict=True))
        self._capacity.pool = self
        self._used_d.pool = self
        # snapshots of what the caches were computed from
        self._cap_seen = [c.copy() for c in self._cap]
        self._used_seen = [u.copy() for u in self._used]
        self._dirty: set[tuple[int, int]] = set()  # (0 = capacity / 1 = used, resource)
        # caches
        self._slack = np.empty((n_res, n))
        self._invs = np.empty((n_res, n))
        self._g = np.empty((n_res, n))
        self._a = np.empty(n)
        self._inv_lo = np.zeros(n_res)
        self._inv_hi = np.zeros(n_res)
        # scratch buffers
        self._fbuf = np.empty(n, dtype=bool)
        self._tbuf = np.empty(n, dtype=bool)
        self._nbuf = np.empty(n, dtype=bool)
        self._s = np.empty(n)
        self._t = np.empty(n)
        self._p = np.empty(n)
        self._us = np.empty((n_res, n))
        # best score of the last best_fit / worst_fit decision (index: worst), a speed hint
        self._hint: list[float | None] = [None, None]
        for i in range(n_res):
            self._rebuild(i, sum_a=False)
        self._sum_a()

    # ------------------------------------------------------------------ tracked state
    @property
    def capacity(self) -> dict[str, np.ndarray]:
        return self._capacity

    @property
    def used(self) -> dict[str, np.ndarray]:
        return self._used_d

    def invalidate(self) -> None:
        """Re-check every capacity and usage array against the caches at the next call.

        Only needed after writing through an array reference kept from before a later call on
        the pool; ``pool.capacity[r][...] = x`` and ``pool.used[r][...] = x`` are noticed.
        """
        for i in range(len(self.resources)):
            self._dirty.add((0, i))
            self._dirty.add((1, i))

    def _touch(self, d: _Tracked, key: object) -> None:
        kind = 0 if d is self._capacity else 1
        if key is None:
            for i in range(len(self.resources)):
                self._dirty.add((kind, i))
        else:
            i = self._pos.get(key)  # type: ignore[arg-type]
            if i is not None:
                self._dirty.add((kind, i))

    def _replace(self, d: _Tracked, key: object, value: object) -> None:
        i = self._pos.get(key)  # type: ignore[arg-type]
        if i is None:
            raise KeyError(f"unknown resource {key!r}; resources are {list(self.resources)}")
        arr = np.ascontiguousarray(value, dtype=np.float64).reshape(-1)
        if arr.shape[0] != self.n_hosts:
            raise ValueError(f"{key!r} needs {self.n_hosts} values, got {arr.shape[0]}")
        dict.__setitem__(d, key, arr)
        if d is self._capacity:
            self._cap[i] = arr
            self._dirty.add((0, i))
        else:
            self._used[i] = arr
            self._dirty.add((1, i))

    def _sync(self) -> None:
        """Bring the caches up to date with arrays that were handed out since the last call."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        rebuilt = False
        for kind, i in sorted(dirty):
            arr = self._cap[i] if kind == 0 else self._used[i]
            seen = self._cap_seen[i] if kind == 0 else self._used_seen[i]
            np.equal(arr, seen, out=self._tbuf)
            changed = np.flatnonzero(~self._tbuf) if not self._tbuf.all() else None
            if changed is None:
                continue
            if changed.size <= _FEW:
                for h in changed.tolist():
                    if kind == 0:
                        self._update_host(h)
                    else:
                        self._update_used(h, [i])
            else:
                self._rebuild(i, sum_a=False)
                rebuilt = True
            np.copyto(seen, arr)
        if rebuilt:
            self._sum_a()

    def _rebuild(self, i: int, *, sum_a: bool = True) -> None:
        """Recompute the caches of resource ``i`` for every host."""
        c, u = self._cap[i], self._used[i]
        slack, inv, g = self._slack[i], self._invs[i], self._g[i]
        np.multiply(c, _EPS, out=slack)
        np.add(c, slack, out=slack)
        np.subtract(slack, u, out=slack)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            np.divide(1.0, c, out=inv)
            inv[~np.isfinite(inv)] = 0.0
            np.subtract(c, u, out=g)
            np.multiply(g, inv, out=g)
        g[inv == 0.0] = 0.0
        if self.n_hosts:
            self._inv_lo[i] = inv.min()
            self._inv_hi[i] = inv.max()
        np.copyto(self._cap_seen[i], c)
        np.copyto(self._used_seen[i], u)
        if sum_a:
            self._sum_a()

    def _sum_a(self) -> None:
        a = self._a
        np.copyto(a, self._g[0])
        for i in range(1, len(self.resources)):
            np.add(a, self._g[i], out=a)

    def _update_host(self, h: int) -> None:
        """Recompute the caches of host ``h`` after its capacities changed (all resources) with
        Python floats: the same IEEE operations as :meth:`_rebuild`, so the values are
        bit-identical."""
        for i in range(len(self.resources)):
            c = float(self._cap[i][h])
            v = _inv(c)
            self._invs[i][h] = v
            # the bounds only need to contain every inv_r; widening keeps them valid
            self._inv_lo[i] = min(self._inv_lo[i], v)
            self._inv_hi[i] = max(self._inv_hi[i], v)
            self._cap_seen[i][h] = c
        self._update_used(h, range(len(self.resources)))

    def _update_used(self, h: int, changed: list[int] | range) -> None:
        """Recompute the caches of host ``h`` after its use of resources ``changed`` changed
        (the same operations as :meth:`_rebuild`, so the same bits)."""
        self._set_used(h, [(i, float(self._used[i][h])) for i in changed])

    def _set_used(self, h: int, new: list[tuple[int, float]]) -> None:
        """Set host ``h``'s use of resource ``i`` to ``u`` for each ``(i, u)`` of ``new`` and
        recompute its caches in Python floats (a handful of scalars: NumPy calls would cost
        more than the arithmetic)."""
        cap, used, seen = self._cap, self._used, self._used_seen
        slack, invs, g = self._slack, self._invs, self._g
        for i, u in new:
            c = float(cap[i][h])
            used[i][h] = u
            seen[i][h] = u
            slack[i, h] = (c + _EPS * c) - u
            v = float(invs[i, h])
            g[i, h] = (c - u) * v if v != 0.0 else 0.0
        col = g[:, h].tolist()
        a = col[0]
        for x in col[1:]:
            a = a + x
        self._a[h] = a

    # ------------------------------------------------------------------ helpers
    def _check_names(self, request: Mapping[str, object]) -> None:
        if self._names.issuperset(request):
            return
        unknown = set(request) - self._names
        if unknown:
            raise ValueError(
                f"request names unknown resources {sorted(unknown)}; "
                f"resources are {list(self.resources)}"
            )

    def _request(self, request: Mapping[str, float] | tuple[float, ...]) -> Sequence[float]:
        """Request as floats in resource order; missing resources count as 0. A tuple is taken
        as already in that form (see :meth:`vector`)."""
        if type(request) is tuple:
            if len(request) != len(self.resources):
                raise ValueError(
                    f"a request vector holds one amount per resource {list(self.resources)}; "
                    f"got {len(request)}"
                )
            return request
        self._check_names(request)
        return [float(request.get(r, 0.0)) for r in self.resources]

    def _excluded(self, exclude: np.ndarray | None) -> np.ndarray | None:
        """``exclude`` as a bool mask over hosts (None if nothing is excluded)."""
        if exclude is None:
            return None
        exclude = np.asarray(exclude)
        if exclude.dtype == bool:
            return exclude
        mask = np.zeros(self.n_hosts, dtype=bool)
        mask[exclude.astype(np.int64, copy=False)] = True
        return mask

    def _feasible(self, req: list[float], excl: np.ndarray | None, lo: int, hi: int) -> np.ndarray:
        """Feasibility of hosts ``lo:hi`` in a scratch buffer (valid until the next call)."""
        out = self._fbuf[lo:hi]
        tmp = self._tbuf[lo:hi]
        np.copyto(out, self.enabled[lo:hi])
        if excl is not None:
            np.logical_not(excl[lo:hi], out=tmp)
            np.logical_and(out, tmp, out=out)
        for slack, q in zip(self._slack, req, strict=True):
            np.less_equal(q, slack[lo:hi], out=tmp)
            np.logical_and(out, tmp, out=out)
        return out

    def _scan(self, req: list[float], excl: np.ndarray | None, lo: int, hi: int) -> int:
        """Lowest feasible host in ``lo:hi``, or -1; looks at growing chunks."""
        size = _CHUNK
        while lo < hi:
            end = min(hi, lo + size)
            f = self._feasible(req, excl, lo, end)
            k = int(np.argmax(f))
            if f[k]:
                return lo + k
            lo = end
            size *= 2
        return -1

    # ------------------------------------------------------------------ public API
    def vector(self, request: Mapping[str, float]) -> tuple[float, ...]:
        """``request`` as a tuple of floats in :attr:`resources` order (missing resources
        count as 0), its names checked once. :meth:`fits`, :meth:`allocate` and
        :meth:`release` take it in place of the mapping: a caller that asks for the same
        request many times (a guest's moves) converts it once."""
        return tuple(self._request(request))

    def feasible(
        self, request: Mapping[str, float], exclude: np.ndarray | None = None
    ) -> np.ndarray:
        """Bool mask of hosts that can take ``request``.

        A host qualifies if it is enabled, not excluded (``exclude`` is a bool mask over hosts or
        an array of host indices) and ``req_r <= (cap_r + 1e-9 * cap_r) - used_r`` for every
        resource (the relative slack absorbs rounding).
        """
        req = self._request(request)
        self._sync()
        return self._feasible(req, self._excluded(exclude), 0, self.n_hosts).copy()

    def fits(self, host: int, request: Mapping[str, float] | tuple[float, ...]) -> bool:
        """Whether ``host`` can take ``request`` (the :meth:`feasible` rule for one host)."""
        req = self._request(request)
        self._sync()
        if not self.enabled[host]:
            return False
        return all(q <= s for q, s in zip(req, self._slack[:, host].tolist(), strict=True))

    def choose(
        self,
        request: Mapping[str, float],
        policy: str,
        *,
        rng: np.random.Generator | None = None,
        exclude: np.ndarray | None = None,
    ) -> int:
        """Host index chosen for ``request`` under ``policy``, or -1 if no host fits.

        Does not allocate. ``round_robin`` advances ``rr_cursor`` when it finds a host;
        ``random`` needs ``rng`` and draws one integer only when some host fits.
        """
        _check_policy(policy)
        req = self._request(request)
        self._sync()
        return self._choose(req, policy, rng, self._excluded(exclude))

    def _choose(
        self,
        req: list[float],
        policy: str,
        rng: np.random.Generator | None,
        excl: np.ndarray | None,
    ) -> int:
        n = self.n_hosts
        if policy == "first_fit":
            return self._scan(req, excl, 0, n)
        if policy == "round_robin":
            cur = min(max(int(self.rr_cursor), 0), n)
            chosen = self._scan(req, excl, cur, n)
            if chosen < 0:
                chosen = self._scan(req, excl, 0, cur)
            if chosen >= 0:
                self.rr_cursor = (chosen + 1) % n
            return chosen
        if policy in ("best_fit", "worst_fit"):
            b_lo, b_hi = self._b_bounds(req)
            if not (math.isfinite(b_lo) and math.isfinite(b_hi)):
                feas = self._feasible(req, excl, 0, n)
                if not feas.any():
                    return -1
                return self._subset_best(policy, req, np.flatnonzero(feas))
            h = self._fit_fast(req, excl, policy == "worst_fit", b_lo, b_hi)
            if h != -2:
                return h
        feas = self._feasible(req, excl, 0, n)
        if policy == "random":
            idx = np.flatnonzero(feas)
            if idx.size == 0:
                return -1
            if rng is None:
                raise ValueError("policy 'random' needs rng (a numpy.random.Generator)")
            return int(idx[rng.integers(len(idx))])
        if not feas.any():
            return -1
        if policy in ("best_fit", "worst_fit"):
            h = self._fit(req, feas, policy == "worst_fit", b_lo, b_hi)
        elif 4 * int(np.count_nonzero(feas)) < n:
            h = -1  # few feasible hosts: scoring only those is cheaper
        else:
            h = self._masked_best(self._scores(policy, req, None), feas, policy == "dot_product")
        if h >= 0:
            return h
        return self._subset_best(policy, req, np.flatnonzero(feas))

    def _scores(self, policy: str, req: list[float], idx: np.ndarray | None) -> np.ndarray:
        """Exact scores of hosts ``idx`` (all hosts if None; then in a scratch buffer)."""
        full = idx is None
        # (a subset is gathered row by row: ``take`` on a row costs a fraction of the 2-D
        # fancy index ``invs[:, idx]``, the same numbers)
        invs = self._invs if full else [row.take(idx) for row in self._invs]
        s, t = (self._s, self._t) if full else (np.empty(idx.size), np.empty(idx.size))
        if policy in ("best_fit", "worst_fit"):
            a = self._a if full else self._a.take(idx)
            np.multiply(invs[0], req[0], out=s)
            for i in range(1, len(req)):
                np.multiply(invs[i], req[i], out=t)
                np.add(s, t, out=s)
            np.subtract(a, s, out=s)
            return s
        if policy == "dot_product":
            gs = self._g if full else [row.take(idx) for row in self._g]
            for i, q in enumerate(req):
                dst = s if i == 0 else t
                np.multiply(invs[i], q, out=dst)
                np.multiply(dst, gs[i], out=dst)
                if i:
                    np.add(s, t, out=s)
            return s
        if policy == "balanced":
            n_res = len(req)
            useds = self._used if full else [u[idx] for u in self._used]
            us = self._us if full else np.empty((n_res, idx.size))
            for i, q in enumerate(req):
                np.add(useds[i], q, out=us[i])
                np.multiply(us[i], invs[i], out=us[i])
            np.copyto(t, us[0])  # t = mean
            for i in range(1, n_res):
                np.add(t, us[i], out=t)
            np.divide(t, n_res, out=t)
            for i in range(n_res):
                d = us[i]
                np.subtract(d, t, out=d)
                np.multiply(d, d, out=d)
                if i == 0:
                    np.copyto(s, d)
                else:
                    np.add(s, d, out=s)
            np.divide(s, n_res, out=s)
            return s
        raise AssertionError(f"policy {policy!r} not handled")  # pragma: no cover

    def _masked_best(
        self, score: np.ndarray, feas: np.ndarray, maximize: bool, out: np.ndarray | None = None
    ) -> int:
        """argmin/argmax of ``score`` over ``feas`` (the penalized scores go to ``out``, by
        default ``score`` itself); -1 if that is not clear-cut (a NaN or a score near the
        +-1e300 penalty), then the caller scores the feasible hosts one by one."""
        out = score if out is None else out
        notf, pen = self._nbuf, self._p
        np.logical_not(feas, out=notf)
        np.multiply(notf, _BIG, out=pen)
        if maximize:
            np.subtract(score, pen, out=out)
            h = int(np.argmax(out))
        else:
            np.add(score, pen, out=out)
            h = int(np.argmin(out))
        if feas[h] and abs(float(out[h])) < 1e299:
            return h
        return -1

    def _subset_best(self, policy: str, req: list[float], idx: np.ndarray) -> int:
        """Best of feasible hosts ``idx`` (ascending): argmin/argmax keep the lowest index."""
        score = self._scores(policy, req, idx)
        maximize = policy in ("worst_fit", "dot_product")
        return int(idx[np.argmax(score) if maximize else np.argmin(score)])

    def _b_bounds(self, req: list[float]) -> tuple[float, float]:
        """Bounds of ``B = sum_r q_r * inv_r`` over all hosts, summed in the same order as B:
        rounding is monotonic, so every host's rounded B lies between them."""
        b_lo = b_hi = 0.0
        for i, q in enumerate(req):
            x, y = q * float(self._inv_lo[i]), q * float(self._inv_hi[i])
            lo, hi = (x, y) if x <= y else (y, x)
            b_lo, b_hi = (lo, hi) if i == 0 else (b_lo + lo, b_hi + hi)
        return b_lo, b_hi

    def _fit_fast(
        self, req: list[float], excl: np.ndarray | None, worst: bool, b_lo: float, b_hi: float
    ) -> int:
        """best/worst fit without a full feasibility pass; -2 when it cannot decide cheaply.

        Takes the hosts whose ``A`` is beyond a threshold ``t`` (``A <= t`` for best fit,
        ``A >= t`` for worst fit), checks feasibility and scores exactly only those, and stops
        once the best score ``s`` found proves that no other host can win (best fit: every
        winner has ``A - B_hi <= s``, so ``s + B_hi <= t`` suffices; with a 1e-9 relative
        margin for rounding). Otherwise ``t`` moves outwards and it tries again. The first ``t``
        comes from the previous decision's best score: a guess that only affects speed.
        """
        a, n = self._a, self.n_hosts
        cand = self._tbuf
        width = max(b_hi - b_lo, 1e-3 * len(req))
        hint = self._hint[worst]
        if worst:
            t = float(a.max()) - width
            if hint is not None and math.isfinite(hint):
                t = min(t, hint + b_lo - 0.25 * width)
        else:
            t = b_lo + width  # a feasible host has A >= ~B_lo
            if hint is not None and math.isfinite(hint):
                t = max(t, hint + b_hi + 0.25 * width)
        for _ in range(8):
            if worst:
                np.greater_equal(a, t, out=cand)
            else:
                np.less_equal(a, t, out=cand)
            idx = cand.nonzero()[0]  # (its size is the count: no separate count pass)
            if 8 * idx.size > n:
                return -2
            if idx.size:
                ok = self.enabled[idx]
                if excl is not None:
                    ok &= ~excl[idx]
                for slack, q in zip(self._slack, req, strict=True):
                    ok &= slack[idx] >= q
                idx = idx[ok]
                if idx.size:
                    score = self._scores("best_fit", req, idx)
                    j = int(np.argmax(score) if worst else np.argmin(score))
                    best = float(score[j])
                    if worst:
                        thr = best + b_lo
                        thr -= 1e-9 * (abs(best) + abs(b_lo) + abs(thr)) + 1e-300
                        done = thr >= t
                    else:
                        thr = best + b_hi
                        thr += 1e-9 * (abs(best) + abs(b_hi) + abs(thr)) + 1e-300
                        done = thr <= t
                    if done:
                        self._hint[worst] = best
                        return int(idx[j])
                    if not math.isfinite(thr):
                        return -2
                    t = thr  # covers every possible winner: the next round decides
                    continue
            t = t - width if worst else t + width
            width *= 4.0
        return -2

    def _fit(
        self, req: list[float], feas: np.ndarray, worst: bool, b_lo: float, b_hi: float
    ) -> int:
        """best/worst fit: score exactly only hosts whose ``A`` can still win (see module doc)."""
        a = self._a
        h0 = self._masked_best(a, feas, worst, out=self._s)
        if h0 < 0:
            return -1
        m = float(a[h0])
        cand = self._tbuf
        if worst:
            # s* >= m - B_hi; a winner needs A - B_lo >= s*
            bound = m - b_hi
            thr = bound + b_lo
            thr -= 1e-9 * (abs(bound) + abs(b_lo) + abs(thr)) + 1e-300
            np.greater_equal(a, thr, out=cand)
        else:
            # s* <= m - B_lo; a winner needs A - B_hi <= s*
            bound = m - b_lo
            thr = bound + b_hi
            thr += 1e-9 * (abs(bound) + abs(b_hi) + abs(thr)) + 1e-300
            np.less_equal(a, thr, out=cand)
        np.logical_and(cand, feas, out=cand)
        n_cand = int(np.count_nonzero(cand))
        if 8 * n_cand <= self.n_hosts:
            return self._subset_best(
                "worst_fit" if worst else "best_fit", req, np.flatnonzero(cand)
            )
        return self._masked_best(self._scores("best_fit", req, None), feas, worst)

    def allocate(self, host: int, request: Mapping[str, float] | tuple[float, ...]) -> None:
        """Record ``request`` as used on ``host`` (no feasibility check: the caller decides)."""
        req = self._request(request)
        self._sync()
        self._add(int(host), req)

    def _add(self, h: int, req: list[float]) -> None:
        used = self._used
        self._set_used(h, [(i, float(used[i][h]) + q) for i, q in enumerate(req) if q != 0.0])

    def release(self, host: int, request: Mapping[str, float] | tuple[float, ...]) -> None:
        """Give back ``request`` on ``host``; clamps at 0 so rounding never leaves negative use."""
        req = self._request(request)
        self._sync()
        h = int(host)
        used = self._used
        new = []
        for i, q in enumerate(req):
            old = float(used[i][h])
            u = max(old - q, 0.0)
            if u != old:
                new.append((i, u))
        self._set_used(h, new)

    def batch(self, requests: Mapping[str, np.ndarray], groups) -> tuple[list, np.ndarray]:
        """A batch's requests as one float64[m] per pool resource (absent ones 0), and its
        anti-affinity groups as int64[m] (-1: none), after checking their lengths."""
        self._check_names(requests)
        cols = {r: np.asarray(requests[r], dtype=np.float64).reshape(-1) for r in requests}
        lengths = {c.shape[0] for c in cols.values()}
        if len(lengths) > 1:
            raise ValueError("every resource in requests needs one value per request")
        m = lengths.pop() if lengths else 0
        zeros = np.zeros(m, dtype=np.float64)
        reqs = [cols.get(r, zeros) for r in self.resources]
        if groups is None:
            return reqs, np.full(m, -1, dtype=np.int64)
        grp = np.asarray(groups, dtype=np.int64).reshape(-1)
        if grp.shape[0] != m:
            raise ValueError(f"groups has {grp.shape[0]} entries for {m} requests")
        return reqs, grp

    def batch_order(self, reqs: list[np.ndarray], m: int) -> np.ndarray:
        """``largest_first``: by descending ``sum_r req_r / max(cap_r)``, stable."""
        key = np.zeros(m, dtype=np.float64)
        for cap, q in zip(self._cap, reqs, strict=True):
            cmax = float(cap.max()) if self.n_hosts else 0.0
            if cmax != 0.0:
                key = key + q / cmax
        return np.argsort(-key, kind="stable")

    def place_batch(
        self,
        requests: Mapping[str, np.ndarray],
        policy: str | Callable[[int, list[float], np.ndarray | None], int],
        *,
        order: str = "given",
        groups: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
        occupied: Mapping[int, Sequence[int]] | None = None,
        tenants: np.ndarray | None = None,
        isolation: Isolation | None = None,
        spread: Mapping[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Place a batch of requests one by one, allocating as it goes.

        Parameters
        ----------
        requests:
            ``{resource: float64[m]}``; resources left out count as 0.
        policy:
            one of :data:`POLICIES`, or a callable ``policy(i, request, exclude) -> host``
            (request ``i`` as a list in :attr:`resources` order, ``exclude`` a bool mask of
            hosts anti-affinity rules out, or None) whose answer must be feasible (-1: none).
        order:
            ``"given"`` places requests in index order; ``"largest_first"`` places them by
            descending ``sum_r req_r / max(cap_r)`` (stable, so equal sizes keep index order).
        groups:
            int64[m] anti-affinity group per request, -1 for none; two requests of one group
            ``>= 0`` are never put on the same host.
        rng:
            generator for ``policy="random"``.
        occupied:
            hosts already holding members of each group before this batch (placed earlier).
        tenants, isolation:
            int64[m] tenant of each request, and the tenants' isolation: hosts
            ``isolation.forbidden(t)`` are excluded for a request of tenant ``t`` (on top of
            anti-affinity), and ``isolation.add(h, t)`` records each placement.
        spread:
            groups spread over domains instead of kept apart: group -> int64[H], the domain
            (a rack) of each host. A request of such a group may go only to the hosts that
            :meth:`spread_hosts` leaves (never none while some host fits it).

        Returns
        -------
        numpy.ndarray
            int64[m], host of request ``i`` at position ``i`` (whatever the processing order),
            -1 if it was rejected (then nothing was allocated for it).
        """
        user = callable(policy)
        if not user:
            _check_policy(policy)
        if order not in ORDERS:
            raise ValueError(f"unknown order {order!r}; allowed: {', '.join(ORDERS)}")
        reqs, grp = self.batch(requests, groups)
        m = len(grp)
        if policy == "random" and rng is None and m > 0:
            raise ValueError("policy 'random' needs rng (a numpy.random.Generator)")
        self._sync()
        seq = self.batch_order(reqs, m) if order == "largest_first" else np.arange(m)
        hosts = np.full(m, -1, dtype=np.int64)
        # anti-affinity group -> hosts already holding one
        members: dict[int, list[int]] = {g: list(h) for g, h in (occupied or {}).items()}
        rows = [q.tolist() for q in reqs]
        spread = spread or {}
        last: tuple[list[float], int] | None = None  # see _again
        for i in seq.tolist():
            req = [q[i] for q in rows]
            g = int(grp[i])
            excl = None if isolation is None else isolation.forbidden(int(tenants[i]))
            if g in spread:
                excl = self.spread_hosts(req, excl, members.get(g, []), spread[g])
            elif g >= 0 and g in members:
                excl = _either(self._excluded(np.asarray(members[g], dtype=np.int64)), excl)
            if user:
                h = policy(i, req, excl)
            elif excl is None and self._again(policy, last, req):
                h = last[1]  # type: ignore[index]
            else:
                h = self._choose(req, policy, rng, excl)
            last = (req, h) if excl is None else None
            if h < 0:
                continue
            self._add(h, req)
            hosts[i] = h
            if isolation is not None:
                isolation.add(h, int(tenants[i]))
            if g >= 0:
                members.setdefault(g, []).append(h)
        return hosts

    def spread_hosts(
        self, req: list[float], excl: np.ndarray | None, held: Sequence[int], domain: np.ndarray
    ) -> np.ndarray | None:
        """The exclusion mask of a spread request: of the hosts that fit ``req`` (outside
        ``excl``), keep those in the domains holding the fewest of the group (``held``: the
        hosts of its members, one entry per member), and of those the hosts holding the fewest;
        everything else is excluded. None (nothing more excluded) when no host fits."""
        self._sync()
        fits = self._feasible(req, excl, 0, self.n_hosts).copy()
        if not fits.any():
            return excl
        on = np.asarray(held, dtype=np.int64)
        per_host = np.bincount(on, minlength=self.n_hosts)
        per_domain = np.bincount(domain[on], minlength=int(domain.max()) + 1)
        key = per_domain[domain] * (len(on) + 1) + per_host  # domain first, then host
        return ~(fits & (key == key[fits].min()))

    def _again(self, policy: str, last: tuple[list[float], int] | None, req: list[float]) -> bool:
        """Whether the host that took the previous request of the batch (chosen among all
        hosts, none excluded) is again the choice for the same request ``req``, without a
        search: under ``first_fit`` the hosts before it still lack room; under ``best_fit``
        its score only fell (its free share shrank, in monotone float operations) while no
        other host's changed, so it is still the least, and the lowest index among equals.
        It only has to have room still. A fleet's guests of one size then cost one search
        per host filled instead of one per guest. A request the pool just refused (-1) is
        refused again under every policy: nothing was allocated since, so no host has room
        (round robin moves its cursor only on a placement, random draws only when some host
        fits)."""
        if last is None or last[0] != req:
            return False
        h = last[1]
        if h < 0:
            return True
        if policy not in ("first_fit", "best_fit"):
            return False
        return bool(self.enabled[h]) and all(
            q <= slack[h] for q, slack in zip(req, self._slack, strict=True)
        )


def _either(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """The union of two exclusion masks (None: nothing excluded)."""
    if a is None or b is None:
        return b if a is None else a
    return a | b
