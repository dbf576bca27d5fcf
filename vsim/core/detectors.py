"""Dynamic-consolidation kernels: host overload detection, VM selection and power-aware placement.

Everything here follows the definitions of Beloglazov & Buyya, "Optimal online deterministic
algorithms and adaptive heuristics for energy and performance efficient dynamic consolidation of
virtual machines in cloud data centers", Concurrency and Computation: Practice and Experience
24(13):1397-1420, 2012 (below: "the paper"), and is vectorized over all hosts at once.

Utilization histories
---------------------
A history is a float64[H, T] array of CPU utilization fractions, one row per host, oldest sample
first and **right-aligned**: row ``h`` holds ``n_valid[h]`` valid samples in its *last*
``n_valid[h]`` columns (``history[h, T - n_valid[h]:]``, newest in the last column); the
other columns are ignored (any value). The caller decides whether the history includes the
current sample (the paper's detectors look at the history up to and including the latest
observation).

Overload detection (paper, section 6)
-------------------------------------
``thr``  static threshold: overloaded if ``u > param`` (e.g. 0.8).
``iqr``  upper threshold ``T_u = 1 - s * IQR`` (``IQR = Q3 - Q1`` of the history), overloaded if
         ``u > T_u`` (``s = param``, e.g. 1.5).
``mad``  ``T_u = 1 - s * MAD`` with ``MAD = median_i(|X_i - median_j(X_j)|)`` (e.g. s = 2.5).
``lr``   local regression (Loess, Cleveland, "Robust locally weighted regression and smoothing
         scatterplots", JASA 74(368), 1979): a line ``a + b x`` fitted by weighted least squares
         to the last ``window`` observations (``x = 0 .. k-1``) with tricube weights
         ``T(u) = (1 - |u|^3)^3`` (``|u| < 1``, else 0) of the distance to the newest
         observation, ``u_i = (x_k - x_i) / Δ`` with ``Δ`` the distance to the farthest of
         the ``k`` observations (Cleveland's neighbourhood: that farthest point gets weight 0);
         the prediction ``ĝ = a + b (x_k + horizon)`` is the next observation for
         ``horizon = 1`` (the paper's ``x_{k+1}``; CloudSim predicts
         ``ceil(max migration time / interval)`` steps ahead, pass that as ``horizon`` for its
         behaviour); overloaded if ``s * ĝ >= 1`` (``s = param``, e.g. 1.2).
``lrr``  robust local regression: the ``lr`` fit followed by Cleveland's robustness iterations:
         residuals ``e_i``, ``m = median |e_i|``, robustness weights ``B(e_i / (6 m))`` with the
         bisquare ``B(u) = (1 - u^2)^2`` (``|u| < 1``, else 0), refit with tricube x robustness
         weights; ``robust_iters = 2`` as Cleveland recommends.

Fallback. The adaptive methods need history: a host with fewer than ``min_history`` valid
samples is judged by a static threshold instead, overloaded if ``u > fallback_threshold``.
Defaults ``min_history = 10`` (the ``lr`` window is 10 observations in the paper, and CloudSim
falls back until it has 10-12 samples) and ``fallback_threshold = 0.7`` (CloudSim's fallback
static threshold). Both are keyword arguments.

Quartiles. ``quantile_method="linear"`` interpolates at position ``(n - 1) p`` of the sorted
sample (NumPy's default, Hyndman & Fan type 7); ``"weibull"`` at ``(n + 1) p`` (1-based; type 6,
the default of Apache Commons Math's ``Percentile``); ``"cloudsim"`` takes the sorted sample at
1-based rank ``round(p (n + 1))``, rounded half up, with no interpolation: what CloudSim 4.0's
``MathUtil.iqr`` computes for its IQR detector.

VM selection (paper, section 7)
-------------------------------
Per host, which VM to migrate first (``-1`` if the host has no eligible VM); ties go to the
lowest VM index. VMs are given as flat arrays with ``vm_host[v]`` the host of VM ``v``.

``mmt``  minimum migration time: least ``RAM / spare bandwidth of the host``.
``mu``   minimum utilization: least CPU utilization.
``rs``   random selection: uniform among the host's eligible VMs (one ``Generator`` draw per VM).
``mc``   maximum correlation: the VM whose CPU history has the highest multiple correlation
         with the other VMs on the host, ``R^2`` of the least-squares regression (with
         intercept) of its history on theirs (paper, eq. for ``R^2_{Y, X_1..X_{n-1}}``).

Placement (paper, Algorithm 1, power-aware best-fit decreasing, PABFD)
----------------------------------------------------------------------
VMs in decreasing order of CPU demand; each goes to the feasible host whose power grows least
when the VM is added (ties: lowest host index). Host power is the SPECpower_ssj2008 11-point
table (0 %, 10 %, ..., 100 % utilization) with linear interpolation, as in the paper.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "METHODS",
    "SELECTION_POLICIES",
    "masked_median",
    "masked_quantile",
    "mad",
    "iqr",
    "loess_predict",
    "upper_threshold",
    "overloaded",
    "select_mmt",
    "select_mu",
    "select_rs",
    "select_mc",
    "select_vms",
    "multiple_correlation",
    "multiple_correlation_lstsq",
    "power_at",
    "power_increase",
    "pabfd_choose",
    "pabfd_place",
]

METHODS: tuple[str, ...] = ("thr", "iqr", "mad", "lr", "lrr")
SELECTION_POLICIES: tuple[str, ...] = ("mmt", "mc", "rs", "mu")

# Floor on the robustness scale (median |residual|): an exact fit has residuals of pure rounding,
# which must not turn into bisquare weights of 0 for good points.
_ROBUST_SCALE_FLOOR = 1e-12
# Relative slack on capacity so that a VM that fits exactly is not rejected by rounding.
_EPS = 1e-9


# --------------------------------------------------------------------------- masked statistics


def _as_history(history: np.ndarray, n_valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    history = np.asarray(history, dtype=np.float64)
    if history.ndim != 2:
        raise ValueError(f"history must be 2-D (hosts x samples), got shape {history.shape}")
    n_valid = np.asarray(n_valid, dtype=np.int64)
    if n_valid.shape != (history.shape[0],):
        raise ValueError("n_valid must have one entry per history row")
    if (n_valid < 0).any() or (n_valid > history.shape[1]).any():
        raise ValueError(f"n_valid must lie in 0..{history.shape[1]}")
    return history, n_valid


def _valid_mask(n_valid: np.ndarray, n_cols: int) -> np.ndarray:
    """bool[H, T]: the last ``n_valid[h]`` columns of each row."""
    return np.arange(n_cols)[None, :] >= (n_cols - n_valid)[:, None]


def _sorted_valid(history: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """Each row's valid samples sorted ascending into its first ``n_valid`` columns."""
    return np.sort(np.where(_valid_mask(n_valid, history.shape[1]), history, np.inf), axis=1)


def _quantile_of_sorted(s: np.ndarray, n: np.ndarray, q, method: str) -> np.ndarray:
    if method == "cloudsim" and s.shape[1]:
        # A whole rank: the general path below with frac = 0, in fewer steps (the same values);
        # q may also be a column of k quantiles (float64[k, 1]), giving float64[k, H].
        rank = np.floor(q * (n + 1) + 0.5).astype(np.int64) - 1
        lo = np.minimum(np.maximum(rank, 0), np.maximum(n - 1, 0))
        return np.where(n > 0, s[np.arange(s.shape[0]), lo], np.nan)
    if method == "linear":
        pos = (n - 1) * q
    elif method == "weibull":
        pos = (n + 1) * q - 1.0
    elif method == "cloudsim":
        # Java's Math.round rounds half up: floor(x + 0.5); a whole rank, so frac is 0 below.
        pos = np.floor(q * (n + 1) + 0.5) - 1.0
    else:
        raise ValueError(f"unknown quantile_method {method!r}; allowed: linear, weibull, cloudsim")
    pos = np.clip(pos, 0.0, np.maximum(n - 1, 0))
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    frac = pos - lo
    rows = np.arange(s.shape[0])
    if s.shape[1] == 0:
        return np.full(s.shape[0], np.nan)
    # Rows without samples would read +inf padding: give them 0 here and nan below.
    a = np.where(n > 0, s[rows, lo], 0.0)
    b = np.where(n > 0, s[rows, hi], 0.0)
    return np.where(n > 0, a + frac * (b - a), np.nan)


def masked_quantile(
    history: np.ndarray, n_valid: np.ndarray, q: float, method: str = "linear"
) -> np.ndarray:
    """Per-row ``q``-quantile of the valid samples (``nan`` for rows without samples)."""
    history, n_valid = _as_history(history, n_valid)
    return _quantile_of_sorted(_sorted_valid(history, n_valid), n_valid, q, method)


def masked_median(history: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """Per-row median of the valid samples (``nan`` for rows without samples)."""
    return masked_quantile(history, n_valid, 0.5)


def mad(history: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """Per-row median absolute deviation ``median_i(|X_i - median_j(X_j)|)`` (not rescaled)."""
    return _mad(*_as_history(history, n_valid))


def _mad(history: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    med = _quantile_of_sorted(_sorted_valid(history, n_valid), n_valid, 0.5, "linear")
    dev = np.abs(history - med[:, None])
    return _quantile_of_sorted(_sorted_valid(dev, n_valid), n_valid, 0.5, "linear")


def iqr(history: np.ndarray, n_valid: np.ndarray, method: str = "linear") -> np.ndarray:
    """Per-row interquartile range ``Q3 - Q1`` of the valid samples."""
    return _iqr(*_as_history(history, n_valid), method)


_Q3_Q1 = np.array([[0.75], [0.25]])


def _iqr(history: np.ndarray, n_valid: np.ndarray, method: str) -> np.ndarray:
    s = _sorted_valid(history, n_valid)
    if method == "cloudsim" and s.shape[1]:
        q3, q1 = _quantile_of_sorted(s, n_valid, _Q3_Q1, method)  # (both ranks at once)
        return q3 - q1
    return _quantile_of_sorted(s, n_valid, 0.75, method) - _quantile_of_sorted(
        s, n_valid, 0.25, method
    )


# --------------------------------------------------------------------------- local regression


def _tricube(u: np.ndarray) -> np.ndarray:
    a = np.abs(u)
    return np.where(a < 1.0, (1.0 - a**3) ** 3, 0.0)


def _bisquare(u: np.ndarray) -> np.ndarray:
    return np.where(np.abs(u) < 1.0, (1.0 - u**2) ** 2, 0.0)


def _wls_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares line per row: (intercept, slope); nan where fewer than two
    distinct points carry weight."""
    sw = w.sum(axis=1)
    sx = (w * x).sum(axis=1)
    sy = (w * y).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = sx / sw, sy / sw
        dx = x - mx[:, None]
        sxx = (w * dx * dx).sum(axis=1)
        sxy = (w * dx * (y - my[:, None])).sum(axis=1)
        ok = (sw > 0) & (sxx > 1e-12 * np.maximum(sw, 1e-300))
        slope = np.where(ok, sxy / np.where(ok, sxx, 1.0), np.nan)
        intercept = np.where(ok, my - slope * mx, np.nan)
    return intercept, slope


def loess_predict(
    history: np.ndarray,
    n_valid: np.ndarray,
    *,
    window: int = 10,
    horizon: float = 1.0,
    robust: bool = False,
    robust_iters: int = 2,
    weighted: bool = True,
) -> np.ndarray:
    """Local-regression prediction of each row's utilization ``horizon`` samples after the newest.

    Fits over the last ``k = min(window, n_valid)`` samples, see the module docstring (``lr``,
    ``lrr``); ``weighted=False`` fits an ordinary least-squares line instead (every sample
    weighs the same, as CloudSim 4.0 does). Rows with fewer than 3 valid samples (no line
    through two points with positive tricube weight) give ``nan``.
    """
    history, n_valid = _as_history(history, n_valid)
    if window < 2:
        raise ValueError("window must be >= 2")
    n_rows, n_cols = history.shape
    w_cols = min(window, n_cols)
    y = history[:, n_cols - w_cols :]
    k = np.minimum(n_valid, w_cols)
    valid = _valid_mask(k, w_cols)
    y = np.where(valid, y, 0.0)
    # x = 0 .. k-1 within each row's valid part; the newest sample is at x = k - 1.
    col = np.arange(w_cols, dtype=np.float64)[None, :]
    x = col - (w_cols - k)[:, None]
    dist = (k - 1)[:, None] - x  # distance to the newest sample
    spread = np.maximum(k - 1, 1)[:, None].astype(np.float64)
    w = np.where(valid, _tricube(dist / spread), 0.0) if weighted else valid.astype(np.float64)
    a, b = _wls_line(x, y, w)
    if robust:
        for _ in range(robust_iters):
            resid = y - (a[:, None] + b[:, None] * x)
            # Rows without a fit (nan) keep it; zero residuals keep their statistics finite.
            resid = np.where(valid & np.isfinite(resid), resid, 0.0)
            scale = masked_median(np.abs(resid), k)
            scale = np.maximum(np.nan_to_num(scale, nan=0.0), _ROBUST_SCALE_FLOOR)
            rw = _bisquare(resid / (6.0 * scale[:, None]))
            a2, b2 = _wls_line(x, y, w * rw)
            # Keep the previous fit where the robustness weights leave no line to fit.
            keep = np.isnan(b2)
            a, b = np.where(keep, a, a2), np.where(keep, b, b2)
    return a + b * ((k - 1) + np.asarray(horizon, dtype=np.float64))


# --------------------------------------------------------------------------- overload detection


def _check_method(method: str) -> str:
    m = method.lower()
    if m not in METHODS:
        raise ValueError(f"unknown overload detection method {method!r}; allowed: {METHODS}")
    return m


def upper_threshold(
    method: str,
    util_history: np.ndarray,
    n_valid: np.ndarray,
    param: float,
    *,
    quantile_method: str = "linear",
) -> np.ndarray:
    """Per-host upper utilization threshold of ``thr`` (``param``), ``iqr`` (``1 - s IQR``) or
    ``mad`` (``1 - s MAD``), computed from the whole valid history (no fallback applied)."""
    m = _check_method(method)
    return _upper_threshold(m, *_as_history(util_history, n_valid), param, quantile_method)


def _upper_threshold(m: str, util_history, n_valid, param: float, quantile_method: str):
    if m == "thr":
        return np.full(util_history.shape[0], float(param))
    if m == "iqr":
        return 1.0 - param * _iqr(util_history, n_valid, quantile_method)
    if m == "mad":
        return 1.0 - param * _mad(util_history, n_valid)
    raise ValueError(f"method {m!r} has no utilization threshold (it predicts)")


def overloaded(
    method: str,
    util_history: np.ndarray,
    n_valid: np.ndarray,
    current: np.ndarray,
    param: float,
    *,
    min_history: int = 10,
    fallback_threshold: float = 0.7,
    window: int = 10,
    horizon: float | np.ndarray = 1.0,
    robust_iters: int = 2,
    quantile_method: str = "linear",
    weighted: bool = True,
    prediction: np.ndarray | None = None,
) -> np.ndarray:
    """bool[H]: which hosts are overloaded under ``method`` (see the module docstring).

    Parameters
    ----------
    method:
        ``"thr"``, ``"iqr"``, ``"mad"``, ``"lr"`` or ``"lrr"``.
    util_history, n_valid:
        float64[H, T] right-aligned utilization histories and int64[H] valid lengths.
    current:
        float64[H] current utilization (compared with the thresholds; ``lr``/``lrr`` use it only
        in the fallback).
    param:
        the threshold (``thr``) or the safety parameter ``s`` (others).
    min_history, fallback_threshold:
        hosts with fewer valid samples than ``min_history`` are overloaded iff
        ``current > fallback_threshold`` (adaptive methods only).
    window, horizon, robust_iters, weighted:
        local-regression settings (``lr``, ``lrr``), see :func:`loess_predict`.
    prediction:
        ``lr``/``lrr``: :func:`loess_predict` of these histories with these settings, when the
        caller has it already (it is not computed again).
    """
    m = _check_method(method)
    util_history, n_valid = _as_history(util_history, n_valid)
    current = np.asarray(current, dtype=np.float64)
    if current.shape != n_valid.shape:
        raise ValueError("current must have one entry per host")
    if m == "thr":
        return current > param
    enough = n_valid >= min_history
    fallback = current > fallback_threshold
    if m in ("iqr", "mad"):
        adaptive = current > _upper_threshold(m, util_history, n_valid, param, quantile_method)
    elif prediction is not None:
        adaptive = param * np.asarray(prediction, dtype=np.float64) >= 1.0
    else:
        pred = loess_predict(
            util_history,
            n_valid,
            window=window,
            horizon=horizon,
            robust=m == "lrr",
            robust_iters=robust_iters,
            weighted=weighted,
        )
        adaptive = param * pred >= 1.0
    return np.where(enough, adaptive, fallback)


# --------------------------------------------------------------------------- VM selection


def _selection_inputs(
    vm_host: np.ndarray, n_hosts: int, hosts: np.ndarray | None, eligible: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    vm_host = np.asarray(vm_host, dtype=np.int64)
    if vm_host.ndim != 1:
        raise ValueError("vm_host must be 1-D")
    if vm_host.shape[0] and (vm_host.min() < 0 or vm_host.max() >= n_hosts):
        raise ValueError(f"vm_host entries must lie in 0..{n_hosts - 1}")
    cand = np.ones(vm_host.shape[0], dtype=bool)
    if eligible is not None:
        cand &= np.asarray(eligible, dtype=bool)
    if hosts is not None:
        hosts = np.asarray(hosts, dtype=bool)
        if hosts.shape != (n_hosts,):
            raise ValueError("hosts must be a bool mask with one entry per host")
        cand &= hosts[vm_host]
    return vm_host, cand


def _grouped_argmin(vm_host: np.ndarray, score: np.ndarray, cand: np.ndarray, n_hosts: int):
    """Per host, the candidate VM with the least score (ties: lowest VM index); -1 if none."""
    out = np.full(n_hosts, -1, dtype=np.int64)
    idx = np.flatnonzero(cand)
    if idx.shape[0] == 0:
        return out
    # lexsort: last key is primary -> by host, then score, then VM index.
    order = idx[np.lexsort((idx, score[idx], vm_host[idx]))]
    h = vm_host[order]
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = h[1:] != h[:-1]
    out[h[first]] = order[first]
    return out


def select_mmt(
    vm_host: np.ndarray,
    vm_ram: np.ndarray,
    host_bandwidth: np.ndarray | float,
    n_hosts: int,
    *,
    hosts: np.ndarray | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Minimum migration time: per host, the eligible VM with least ``ram / spare bandwidth``.

    ``host_bandwidth`` is the spare network bandwidth of each host (float64[H] or a scalar);
    ``hosts`` (bool[H]) restricts the selection to some hosts (e.g. the overloaded ones),
    ``eligible`` (bool[V]) excludes VMs (e.g. already migrating). Returns int64[H] VM indices,
    -1 where nothing was selected.
    """
    vm_host, cand = _selection_inputs(vm_host, n_hosts, hosts, eligible)
    bw = np.broadcast_to(np.asarray(host_bandwidth, dtype=np.float64), (n_hosts,))
    with np.errstate(divide="ignore"):
        score = np.asarray(vm_ram, dtype=np.float64) / bw[vm_host]
    return _grouped_argmin(vm_host, score, cand, n_hosts)


def select_mu(
    vm_host: np.ndarray,
    vm_util: np.ndarray,
    n_hosts: int,
    *,
    hosts: np.ndarray | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Minimum utilization: per host, the eligible VM with the least CPU utilization."""
    vm_host, cand = _selection_inputs(vm_host, n_hosts, hosts, eligible)
    return _grouped_argmin(vm_host, np.asarray(vm_util, dtype=np.float64), cand, n_hosts)


def select_rs(
    vm_host: np.ndarray,
    n_hosts: int,
    rng: np.random.Generator,
    *,
    hosts: np.ndarray | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Random selection: per host, a uniformly random eligible VM (the least of i.i.d. uniform
    keys, one ``rng.random`` draw per VM, so the stream advances by ``len(vm_host)``)."""
    vm_host, cand = _selection_inputs(vm_host, n_hosts, hosts, eligible)
    return _grouped_argmin(vm_host, rng.random(vm_host.shape[0]), cand, n_hosts)


# Above this condition number of the centred Gram matrix, R^2 from its inverse may lose more
# than about 1e-6 (relative error ~ cond x machine epsilon); least squares is used instead.
_MC_MAX_COND = 1e8


def multiple_correlation(histories: np.ndarray, *, cond_bound: bool = True) -> np.ndarray:
    """``R^2`` of each column of ``histories`` (float64[n, m], samples x VMs) regressed by least
    squares, with intercept, on the other columns; ``0`` for a constant column. With one column
    the result is ``[0]``.

    Fast path: with ``S`` the Gram matrix of the centred columns, the regression of column
    ``i`` on the others leaves ``SSE_i = 1 / (S^-1)_ii`` of ``SST_i = S_ii``, so every ``R^2``
    comes from one inverse. When ``S`` is ill-conditioned (collinear or constant histories,
    too few samples) that identity loses precision, and each column is regressed by least
    squares instead (:func:`multiple_correlation_lstsq`).

    ``cond_bound``: the condition number (an SVD, most of the cost of a small matrix) is only
    computed when a cheap bound does not already settle the test. ``S`` is positive definite,
    so ``cond(S) = ||S|| ||S^-1|| <= tr(S) tr(S^-1)``, both traces at hand; a bound below half
    the limit (far more than rounding in either) passes the same matrices the condition
    number does. ``False``: always the condition number (the same results, tested)."""
    y_all = np.asarray(histories, dtype=np.float64)
    n, m = y_all.shape
    if m == 1:
        return np.zeros(1)
    xc = y_all - np.add.reduce(y_all, axis=0) / n  # (the column means, as y_all.mean(axis=0))
    gram = xc.T @ xc
    diag = gram.diagonal()
    if n <= m or (diag <= 0.0).any():
        return multiple_correlation_lstsq(y_all)
    inv_diag = None
    if cond_bound:
        try:
            inv_diag = np.linalg.inv(gram).diagonal()
        except np.linalg.LinAlgError:
            inv_diag = None  # singular: the condition number decides, as without the bound
        if inv_diag is not None and not (
            (inv_diag > 0.0).all() and diag.sum() * inv_diag.sum() <= 0.5 * _MC_MAX_COND
        ):
            inv_diag = None
    if inv_diag is None:
        if np.linalg.cond(gram) > _MC_MAX_COND:
            return multiple_correlation_lstsq(y_all)
        inv_diag = np.diag(np.linalg.inv(gram))
    r2 = 1.0 - 1.0 / (diag * inv_diag)
    return np.clip(r2, 0.0, 1.0)


def multiple_correlation_lstsq(histories: np.ndarray) -> np.ndarray:
    """:func:`multiple_correlation` by one least-squares regression per column (the general
    mechanism behind its fast path; also right for rank-deficient histories)."""
    y_all = np.asarray(histories, dtype=np.float64)
    n, m = y_all.shape
    out = np.zeros(m, dtype=np.float64)
    if m == 1:
        return out
    for i in range(m):
        y = y_all[:, i]
        sst = float(((y - y.mean()) ** 2).sum())
        if sst <= 0.0:
            continue
        design = np.column_stack([np.ones(n), np.delete(y_all, i, axis=1)])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        sse = float(((y - design @ coef) ** 2).sum())
        out[i] = min(max(1.0 - sse / sst, 0.0), 1.0)
    return out


def select_mc(
    vm_host: np.ndarray,
    vm_history: np.ndarray,
    vm_n_valid: np.ndarray,
    n_hosts: int,
    *,
    hosts: np.ndarray | None = None,
    eligible: np.ndarray | None = None,
    fallback_score: np.ndarray | None = None,
    r2_cache: dict | None = None,
) -> np.ndarray:
    """Maximum correlation: per host, the eligible VM whose CPU history has the highest multiple
    correlation ``R^2`` with the other VMs on the host (all of them, eligible or not).

    ``vm_history`` is float64[V, T], right-aligned with ``vm_n_valid`` valid samples per VM; a
    host uses the last ``min(vm_n_valid)`` samples of its VMs. When there are too few samples
    for the regression (fewer than ``m + 1`` for ``m`` VMs), the host falls back to the least
    ``fallback_score`` (e.g. the MMT score ``ram / bandwidth``; lowest VM index if ``None``).
    Loops over the selected hosts only (regressions are per host).

    ``r2_cache``: a dict the caller keeps across calls (e.g. while it selects one VM after
    another off the same hosts, the hosts' VMs and histories unchanged). Per host it holds the
    last histories regressed and their ``R^2``; a host whose histories are the same, value for
    value, takes those ``R^2`` instead of regressing again (the same numbers:
    :func:`multiple_correlation` is a function of its input's values). ``None``: no cache.
    """
    vm_host, cand = _selection_inputs(vm_host, n_hosts, hosts, eligible)
    vm_history, vm_n_valid = _as_history(vm_history, vm_n_valid)
    if vm_history.shape[0] != vm_host.shape[0]:
        raise ValueError("vm_history must have one row per VM")
    n_vm = vm_host.shape[0]
    fb = np.zeros(n_vm) if fallback_score is None else np.asarray(fallback_score, np.float64)
    out = np.full(n_hosts, -1, dtype=np.int64)
    if n_vm == 0:
        return out
    todo = np.unique(vm_host[cand])
    order = np.argsort(vm_host, kind="stable")
    starts = np.searchsorted(vm_host[order], todo, side="left")
    ends = np.searchsorted(vm_host[order], todo, side="right")
    n_cols = vm_history.shape[1]
    for h, lo, hi in zip(todo.tolist(), starts.tolist(), ends.tolist(), strict=True):
        members = order[lo:hi]  # ascending VM index (stable sort)
        ok = cand[members]
        m = members.shape[0]
        n = int(vm_n_valid[members].min())
        if m == 1:
            out[h] = members[0]
            continue
        if n < m + 1:
            sub = members[ok]
            out[h] = sub[np.lexsort((sub, fb[sub]))[0]]
            continue
        block = vm_history[members, n_cols - n :]
        r2 = None
        if r2_cache is not None:
            seen = r2_cache.get(h)
            if seen is not None and seen[0].shape == block.shape and (seen[0] == block).all():
                r2 = seen[1]
        if r2 is None:
            r2 = multiple_correlation(block.T)
            if r2_cache is not None:
                r2_cache[h] = (block, r2)
        r2 = np.where(ok, r2, -np.inf)
        out[h] = members[int(np.argmax(r2))]  # argmax: first (lowest index) among ties
    return out


def select_vms(
    policy: str,
    vm_host: np.ndarray,
    n_hosts: int,
    *,
    hosts: np.ndarray | None = None,
    eligible: np.ndarray | None = None,
    vm_ram: np.ndarray | None = None,
    host_bandwidth: np.ndarray | float | None = None,
    vm_util: np.ndarray | None = None,
    vm_history: np.ndarray | None = None,
    vm_n_valid: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    r2_cache: dict | None = None,
) -> np.ndarray:
    """Dispatch to :func:`select_mmt`, :func:`select_mu`, :func:`select_rs` or
    :func:`select_mc` by name; MC falls back to MMT scores when both ``vm_ram`` and
    ``host_bandwidth`` are given, and reuses ``R^2`` through ``r2_cache`` (see
    :func:`select_mc`)."""
    p = policy.lower()
    kw = dict(hosts=hosts, eligible=eligible)
    if p == "mmt":
        if vm_ram is None or host_bandwidth is None:
            raise ValueError("mmt needs vm_ram and host_bandwidth")
        return select_mmt(vm_host, vm_ram, host_bandwidth, n_hosts, **kw)
    if p == "mu":
        if vm_util is None:
            raise ValueError("mu needs vm_util")
        return select_mu(vm_host, vm_util, n_hosts, **kw)
    if p == "rs":
        if rng is None:
            raise ValueError("rs needs rng")
        return select_rs(vm_host, n_hosts, rng, **kw)
    if p == "mc":
        if vm_history is None or vm_n_valid is None:
            raise ValueError("mc needs vm_history and vm_n_valid")
        fb = None
        if vm_ram is not None and host_bandwidth is not None:
            bw = np.broadcast_to(np.asarray(host_bandwidth, dtype=np.float64), (n_hosts,))
            with np.errstate(divide="ignore"):
                fb = np.asarray(vm_ram, np.float64) / bw[np.asarray(vm_host, np.int64)]
        return select_mc(
            vm_host, vm_history, vm_n_valid, n_hosts, fallback_score=fb, r2_cache=r2_cache, **kw
        )
    raise ValueError(f"unknown VM selection policy {policy!r}; allowed: {SELECTION_POLICIES}")


# --------------------------------------------------------------------------- power-aware placement


def power_at(util: np.ndarray, power_table: np.ndarray) -> np.ndarray:
    """Power (W) at utilization ``util`` (fraction, clipped to [0, 1]) by linear interpolation in
    11-point tables (0 %, 10 %, ..., 100 %): ``power_table`` float64[H, 11] (one row per host)
    or float64[11] (shared)."""
    util = np.clip(np.asarray(util, dtype=np.float64), 0.0, 1.0)
    table = np.asarray(power_table, dtype=np.float64)
    if table.shape[-1] != 11:
        raise ValueError("power tables must have 11 points (0 %, 10 %, ..., 100 %)")
    table = np.broadcast_to(table, util.shape + (11,))
    x = util * 10.0
    lo = np.minimum(np.floor(x).astype(np.int64), 9)
    frac = x - lo
    p_lo = np.take_along_axis(table, lo[..., None], axis=-1)[..., 0]
    p_hi = np.take_along_axis(table, (lo + 1)[..., None], axis=-1)[..., 0]
    return p_lo + frac * (p_hi - p_lo)


def power_increase(
    vm_mips: float,
    host_used: np.ndarray,
    host_capacity: np.ndarray,
    power_table: np.ndarray,
    *,
    candidate: np.ndarray | None = None,
    max_util: float = 1.0,
    idle_off: bool = False,
) -> np.ndarray:
    """float64[H] increase of each host's power (W) if a VM of ``vm_mips`` is added; ``inf``
    where the host is not a candidate or the VM does not fit
    (``used + vm_mips > max_util * capacity``).

    ``idle_off=True`` counts a host with nothing placed (``used == 0``) as drawing 0 W (CloudSim's
    semantics: a host at 0 % utilization is switched off); otherwise it draws its idle power.
    """
    used = np.asarray(host_used, dtype=np.float64)
    cap = np.asarray(host_capacity, dtype=np.float64)
    new_used = used + vm_mips
    fits = (cap > 0) & (new_used <= max_util * cap * (1 + _EPS))
    if candidate is not None:
        fits &= np.asarray(candidate, dtype=bool)
    safe_cap = np.where(cap > 0, cap, 1.0)
    before = power_at(used / safe_cap, power_table)
    after = power_at(new_used / safe_cap, power_table)
    if idle_off:
        before = np.where(used <= 0.0, 0.0, before)
        after = np.where(new_used <= 0.0, 0.0, after)
    return np.where(fits, after - before, np.inf)


def pabfd_choose(
    vm_mips: float,
    host_used: np.ndarray,
    host_capacity: np.ndarray,
    power_table: np.ndarray,
    *,
    candidate: np.ndarray | None = None,
    max_util: float = 1.0,
    idle_off: bool = False,
) -> int:
    """Host with the least power increase for one VM (ties: lowest index); -1 if none fits."""
    inc = power_increase(
        vm_mips,
        host_used,
        host_capacity,
        power_table,
        candidate=candidate,
        max_util=max_util,
        idle_off=idle_off,
    )
    if inc.shape[0] == 0:
        return -1
    best = int(np.argmin(inc))  # first minimum -> lowest index on ties
    return best if np.isfinite(inc[best]) else -1


def pabfd_place(
    vm_mips: np.ndarray,
    host_used: np.ndarray,
    host_capacity: np.ndarray,
    power_table: np.ndarray,
    *,
    candidate: np.ndarray | None = None,
    max_util: float = 1.0,
    idle_off: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Power-aware best-fit decreasing (paper, Algorithm 1) for a batch of VMs.

    VMs are taken in decreasing ``vm_mips`` (ties: lower VM index first); each goes to
    :func:`pabfd_choose`'s host and that host's usage grows before the next VM. ``candidate``
    is bool[H] (e.g. hosts that are on and not overloaded) or bool[V, H] (per VM, e.g. not its
    source host). Returns (int64[V] chosen host per VM, -1 if none fits; float64[H] usage after).
    """
    vm_mips = np.asarray(vm_mips, dtype=np.float64)
    used = np.array(host_used, dtype=np.float64)
    cand = None if candidate is None else np.asarray(candidate, dtype=bool)
    out = np.full(vm_mips.shape[0], -1, dtype=np.int64)
    for v in np.lexsort((np.arange(vm_mips.shape[0]), -vm_mips)).tolist():
        c = cand if cand is None or cand.ndim == 1 else cand[v]
        h = pabfd_choose(
            float(vm_mips[v]),
            used,
            host_capacity,
            power_table,
            candidate=c,
            max_util=max_util,
            idle_off=idle_off,
        )
        out[v] = h
        if h >= 0:
            used[h] += vm_mips[v]
    return out, used
