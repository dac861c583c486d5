"""Hostile, seeded integration fuzz of the public front doors of matfun and accel.

Every case builds a random problem -- n in 1..200, kappa = 10^U(0, 8), geometric /
clustered / near-singular / two-point spectra with random signs, g random, an
eigenvector, an eigenvector plus noise, or with a tiny component on the slowest
mode; real or complex Hermitian, float64 or float32 (rtol >= 10 eps); H and g scaled
separately by powers of two near 10^{0, +-50, +-150, +-300} (float32: 10^{0, +-10,
+-30}), H possibly negated; the operator given as a dense array, a SciPy sparse
array, a ``LinearOperator`` or a plain callable -- and calls one public function on
it under a 30 s alarm. The oracle is ``numpy.linalg.eigh`` (float64 / complex128) of
the problem *as the dtype holds it*, divided back by the exact power-of-two scales.

Counted per function: ``converged`` (a result claimed converged; for the exact
oracles and ``certified_interval`` every returned result), ``wrong`` (converged but
relative error above ``10 (rtol + atol/||x||) + FLOOR kappa eps``; an interval missing an
|eigenvalue|; an exact oracle off by more than ``10 n kappa eps``), ``clear`` (a
TypeError/ValueError/OverflowError/FloatingPointError raised by matfun/accel code,
or one of the library's own exception classes), ``unclear`` (any other exception,
or one of those raised inside NumPy/SciPy), ``range?`` (an over/underflow error
although the true answer is well inside the dtype's normal range; a
``SeriesRangeError`` about an unconverged iterate, its info attached, is clear), ``nonfinite``
(NaN/inf returned) and ``hang`` (over 30 s); these five must be 0. ``flushed``
(informative): the true answer underflows the dtype and zeros/subnormals were
returned instead of an error (accepted: its absolute error is below the smallest
normal number). The conditioning floor is ``FLOOR kappa eps``, ``FLOOR = 10``
(``--floor``).

For :mod:`accel`, every classic sequence of :mod:`accel.testing` is fed, scaled by a
random power of two ``c`` (and another run translated by ``b``), to each method at
order 1..3: a ``CONVERGED`` result must be within ``10 error + 16 eps max|s_j|`` of
the limit, and ``T(c s) = c T(s)`` must hold bit for bit, status included.

Usage (from the repository root)::

    python benchmarks/fuzz_front_door.py            # full, ~3 min
    python benchmarks/fuzz_front_door.py --quick    # smoke, ~10 s
    python benchmarks/fuzz_front_door.py --seed 3 --show 5   # other seed, examples
    python benchmarks/fuzz_front_door.py --replay lanczos_apply 73  # one case, uncaught
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
import traceback
import warnings
import zlib
from collections import Counter, defaultdict

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import accel  # noqa: E402
import accel.testing  # noqa: E402
import matfun  # noqa: E402
import matfun.errors  # noqa: E402
import matfun.exact  # noqa: E402
import matfun.spectrum  # noqa: E402

LIBRARY_DIRS = (os.path.join(ROOT, "matfun"), os.path.join(ROOT, "accel"))
CLEAR_TYPES = (TypeError, ValueError, OverflowError, FloatingPointError, ArithmeticError)
TIMEOUT_S = 30
FLOOR = 10  # the conditioning floor, FLOOR kappa eps relative (--floor)
COLUMNS = ("cases", "converged", "wrong", "clear", "range?", "unclear", "nonfinite", "hang",
           "flushed")
BAD = ("wrong", "range?", "unclear", "nonfinite", "hang")
RANGE_ERRORS = (OverflowError, FloatingPointError, matfun.errors.SeriesRangeError)


class Hang(Exception):
    """Raised by the alarm."""


class Wrong(Exception):
    """A converged result off the oracle (message: the numbers)."""


def _alarm(signum, frame):
    raise Hang()


# ---------------------------------------------------------------- problems


class Problem:
    """A scaled Hermitian problem and its oracle (float64 / complex128 eigh)."""

    def __init__(self, rng, *, definite=False, max_n=200, dtypes=None):
        self.n = n = int(rng.choice([1, 2, 3, 5, 8, 13, 21, 40, 80, 200],
                                    p=[.06, .08, .1, .12, .14, .14, .14, .12, .06, .04]))
        n = min(n, max_n)
        self.n = n
        dtypes = dtypes or ["float64"] * 5 + ["complex128"] * 2 + ["float32", "complex64"]
        self.dtype = np.dtype(str(rng.choice(dtypes)))
        self.complex = self.dtype.kind == "c"
        self.eps = float(np.finfo(self.dtype).eps)
        kappa = 10 ** rng.uniform(0, 8)
        kind = str(rng.choice(["geom", "cluster", "nearsing", "two"]))
        if kind == "geom":
            mags = np.geomspace(1, kappa, n)
        elif kind == "cluster":
            mags = np.where(rng.random(n) < 0.5, 1.0, kappa) * (1 + 1e-6 * rng.random(n))
        elif kind == "nearsing":
            mags = np.concatenate(([1.0], np.geomspace(kappa * 0.5, kappa, n - 1)))[:n]
        else:
            mags = np.where(np.arange(n) == 0, 1.0, kappa)
        signs = np.ones(n) if definite else rng.choice([-1.0, 1.0], n)
        lam = signs * mags / kappa
        z = rng.standard_normal((n, n))
        if self.complex:
            z = z + 1j * rng.standard_normal((n, n))
        q, _ = np.linalg.qr(z)
        h = (q * lam) @ q.conj().T
        h = (h + h.conj().T) / 2
        vec = str(rng.choice(["rand", "eig", "neareig", "slowtiny"]))
        g = rng.standard_normal(n) + (1j * rng.standard_normal(n) if self.complex else 0)
        if vec == "eig":
            g = q[:, rng.integers(n)].copy()
        elif vec == "neareig":
            g = q[:, rng.integers(n)] + 10 ** rng.uniform(-12, -2) * g
        elif vec == "slowtiny" and n > 1:
            slow = q[:, np.argmin(np.abs(lam))]
            g = g - slow * (slow.conj() @ g) + 10 ** rng.uniform(-10, -3) * slow
        powers = [0, 0, 0, 50, -50, 150, -150, 300, -300]
        if self.dtype in (np.float32, np.complex64):
            powers = [0, 0, 0, 10, -10, 30, -30]
        # Even exponents, so that c^(1/2) is a power of two too.
        self.kc = 2 * round(float(rng.choice(powers)) * math.log2(10) / 2)
        self.kd = round(float(rng.choice(powers)) * math.log2(10))
        self.sign = -1.0 if rng.random() < 0.15 and not definite else 1.0
        with np.errstate(all="ignore"):
            hs = np.ldexp(h.real, self.kc) * self.sign
            gs = np.ldexp(g.real, self.kd)
            if self.complex:
                hs = hs + 1j * np.ldexp(h.imag, self.kc) * self.sign
                gs = gs + 1j * np.ldexp(g.imag, self.kd)
        self.H = np.asarray(hs, dtype=self.dtype)
        self.g = np.asarray(gs, dtype=self.dtype)
        # What the dtype holds, back in unit scale (dividing by 2^k is exact).
        wide = np.complex128 if self.complex else np.float64
        self.H0 = self.unscale(self.H.astype(wide), self.kc) * self.sign
        self.g0 = self.unscale(self.g.astype(wide), self.kd)
        self.w, self.v = np.linalg.eigh(self.H0)
        self.gw = self.v.conj().T @ self.g0
        absw = np.abs(self.w)
        self.kappa = float(absw.max() / absw.min()) if absw.min() > 0 else math.inf
        self.lo, self.hi = float(absw.min()), float(absw.max())
        self.in_range = None
        self.flushed = False
        self.label = (f"n={n} {self.dtype} kappa={kappa:.1e} {kind} g={vec} "
                      f"H*2^{self.kc}*{self.sign:+.0f} g*2^{self.kd}")

    @staticmethod
    def unscale(x, k):
        x = np.asarray(x)
        if np.iscomplexobj(x):
            return np.ldexp(x.real, -k) + 1j * np.ldexp(x.imag, -k)
        return np.ldexp(x, -k)

    def apply0(self, values):
        """``f(H0) g0`` from the values of ``f`` at the (unit-scale) eigenvalues."""
        return self.v @ (values * self.gw)

    def operator(self, rng):
        """The scaled H as a dense array, sparse array, LinearOperator or callable."""
        import scipy.sparse
        import scipy.sparse.linalg

        form = str(rng.choice(["dense", "dense", "sparse", "linop", "callable"]))
        H = self.H
        if form == "sparse":
            return form, scipy.sparse.csr_array(H)
        if form == "linop":
            return form, scipy.sparse.linalg.aslinearoperator(H)
        if form == "callable":
            return form, (lambda v: H @ v)
        return form, H

    def rtol(self, rng):
        return float(10 ** rng.uniform(max(-10.0, math.log10(10 * self.eps) + 0.05), -2))

    def expect(self, truth0, log2_factor):
        """Record the answer's size: a range error is honest only if it is out of range."""
        self.in_range = not self.out_of_range(float(np.linalg.norm(truth0)), log2_factor,
                                              margin=8)

    def out_of_range(self, norm0, log2_factor, margin=1):
        """Whether ``norm0 * 2^log2_factor`` is outside the dtype's normal range."""
        if norm0 == 0:
            return False
        info = np.finfo(self.dtype)
        e = math.log2(norm0) + log2_factor
        return (e >= math.log2(float(info.max)) - margin
                or e <= math.log2(float(info.tiny)) + margin)


def compare(p, x, truth0, log2_factor, rtol, atol, kappa=None, what="converged"):
    """Raise :class:`Wrong` if ``x`` (scaled) is off ``truth0 * 2^log2_factor``."""
    x = np.asarray(x)
    norm = float(np.linalg.norm(truth0))
    if norm and math.log2(norm) + log2_factor < math.log2(float(np.finfo(p.dtype).tiny)) + 8:
        p.flushed = True  # the answer underflows: zeros/subnormals are IEEE's answer
        return
    wide = np.complex128 if np.iscomplexobj(x) else np.float64
    k = math.floor(log2_factor)
    x0 = Problem.unscale(x.astype(wide), k) / 2 ** (log2_factor - k)
    norm = float(np.linalg.norm(truth0))
    err = float(np.linalg.norm(x0 - truth0))
    kappa = p.kappa if kappa is None else kappa
    # atol is in the caller's (scaled) units.
    atol0 = atol * 2.0 ** (-log2_factor) if atol else 0.0
    allowed = 10 * (rtol * norm + atol0) + FLOOR * kappa * p.eps * norm
    if not err <= allowed:
        raise Wrong(f"{what}: rel err {err / max(norm, 1e-300):.2e} > allowed "
                    f"{allowed / max(norm, 1e-300):.2e} (rtol {rtol:.1e}, kappa "
                    f"{kappa:.1e})")


def finite(x):
    return bool(np.all(np.isfinite(np.asarray(x))))


# ---------------------------------------------------------------- targets
# Each returns True (claimed converged), False (returned, not claimed) or raises.


def damping_case(p, rng, kinds=("abs", "square", "shift")):
    """``(kind, lam_scaled, f0)`` with f0 the values at the unit-scale eigenvalues."""
    if rng.random() < 0.5:
        return "abs", 0.0, 1 / np.abs(p.w), p.kappa
    kind = str(rng.choice(kinds))
    lam0 = float(10 ** rng.uniform(-4, 0)) * p.hi
    if kind == "square":
        if 2 * p.kc + 2 * math.log2(lam0) > 1000:  # lam itself not representable
            return "abs", 0.0, 1 / np.abs(p.w), p.kappa
        lam = math.ldexp(lam0 * lam0, 2 * p.kc)
        lam0sq = math.ldexp(lam, -2 * p.kc)
        vals = 1 / np.sqrt(p.w ** 2 + lam0sq)
        return kind, lam, vals, float(vals.max() / vals.min())
    lam = math.ldexp(lam0, p.kc)
    lam0 = math.ldexp(lam, -p.kc)
    if kind == "abs":
        vals = 1 / (np.abs(p.w) + lam0)
    else:  # shift: |H + lam I|; H scaled by sign: shift acts on the scaled H.
        vals = 1 / np.abs(p.sign * p.w + lam0)
    with np.errstate(all="ignore"):
        kappa = float(vals.max() / vals.min()) if np.all(np.isfinite(vals)) else math.inf
    return kind, lam, vals, kappa


def t_inv_sqrt(method):
    def run(p, rng):
        form, op = p.operator(rng)
        kinds = ("square", "shift", "abs") if method != "chebyshev" else ("square", "shift", "abs")
        kind, lam, vals, kappa = damping_case(p, rng, kinds)
        rtol = p.rtol(rng)
        kw = {}
        if method == "lanczos" and lam == 0 and rng.random() < 0.5:
            with np.errstate(all="ignore"):
                lo = math.ldexp(p.lo * (1 - 1e-3), p.kc)
                hi = math.ldexp(p.hi * (1 + 1e-3), p.kc)
            if lo > 0 and math.isfinite(hi):
                kw["bounds"] = (lo, hi)
        if method == "lanczos" and rng.random() < 0.15:
            kw["memory"] = "low"
        budget = None
        if method == "series":
            budget = int(rng.integers(10, 3000))
        elif rng.random() < 0.4:
            budget = int(rng.integers(1, 2 * p.n + 10))
        truth = p.apply0(vals)
        factor = p.kd - p.kc
        p.expect(truth, factor)
        x, info = matfun.inv_sqrt(op, p.g, method=method, rtol=rtol, max_matvecs=budget,
                                  damping=lam, damping_kind=kind, full_output=True, **kw)
        if not finite(x):
            return "nonfinite"
        if info.converged:
            compare(p, x, truth, factor, rtol, 0.0, kappa)
        return bool(info.converged)
    return run


def t_series(accelerated):
    methods = list(accel.methods())

    def run(p, rng):
        form, op = p.operator(rng)
        kind, lam, vals, kappa = damping_case(p, rng)
        rtol = p.rtol(rng)
        kw = {}
        if accelerated:
            kw = dict(accelerate=str(rng.choice(methods)), order=int(rng.integers(1, 4)))
        budget = int(rng.integers(10, 1500 if accelerated else 3000))
        p.expect(p.apply0(vals), p.kd - p.kc)
        x, info = matfun.inv_sqrt_series(op, p.g, rtol=rtol, max_matvecs=budget,
                                         damping=lam, damping_kind=kind,
                                         full_output=True, **kw)
        if not finite(x):
            return "nonfinite"
        if info.converged:
            compare(p, x, p.apply0(vals), p.kd - p.kc, rtol, 0.0, kappa)
        return bool(info.converged)
    return run


def t_power_series(which):
    def run(p, rng):
        form, op = p.operator(rng)
        rtol = p.rtol(rng)
        budget = int(rng.integers(10, 3000))
        exponent = -1.0 if which == "neumann" else float(rng.choice([-0.5, -1.0, -1 / 3,
                                                                     0.5, 0.3, 2.0]))
        # The answer's scale: (c H)^p g d = c^p d H^p g; c = 2^kc, kc even, sign +1.
        w = p.w
        with np.errstate(all="ignore"):
            vals = np.where(w > 0, np.abs(w) ** exponent, np.nan)
        if exponent >= 0 and exponent == int(exponent):
            # A nonnegative integer power: the series is a finite polynomial in H,
            # exact for every symmetric H (indefinite too); (sign w)^p in unit scale.
            vals = (p.sign * w) ** exponent
        elif p.sign < 0 or np.any(w <= 0):
            vals = None  # indefinite: must raise SeriesDivergenceError (or not converge)
        kw = dict(rtol=rtol, max_matvecs=budget, full_output=True)
        if rng.random() < 0.3:
            kw["accelerate"] = str(rng.choice(list(accel.methods())))
            kw["order"] = int(rng.integers(1, 4))
        if vals is not None:
            p.expect(p.apply0(vals), p.kd + exponent * p.kc)
        if which == "neumann":
            x, info = matfun.neumann_series(op, p.g, **kw)
        else:
            x, info = matfun.binomial_series(op, p.g, exponent, **kw)
        if not finite(x):
            return "nonfinite"
        if info.converged:
            if vals is None:
                negative = np.linalg.norm(p.gw[(p.sign * p.w) <= 0])
                if negative > math.sqrt(p.eps) * np.linalg.norm(p.gw):
                    raise Wrong("converged on an indefinite H that g excites")
                return True  # g lies in the positive eigenspace: nothing to compare
            kappa = p.kappa * max(1.0, abs(exponent))
            compare(p, x, p.apply0(vals), p.kd + exponent * p.kc, rtol, 0.0, kappa)
        return bool(info.converged)
    return run


NAMED = ["inv_abs", "inv", "inv_sqrt_abs", "abs", "abs_power"]


def t_lanczos_apply(p, rng):
    form, op = p.operator(rng)
    name = str(rng.choice(NAMED))
    w = p.sign * p.w  # eigenvalues of the scaled H / 2^kc
    if name == "abs_power":
        alpha = float(rng.uniform(0.1, 1.9))
        f, vals, deg = ("abs_power", alpha), np.abs(w) ** -alpha, -alpha
    else:
        f = name
        vals, deg = {"inv_abs": (1 / np.abs(w), -1), "inv": (1 / w, -1),
                     "inv_sqrt_abs": (np.abs(w) ** -0.5, -0.5), "abs": (np.abs(w), 1)}[name]
    rtol = p.rtol(rng)
    kw = {}
    if name != "abs" and rng.random() < 0.5:
        with np.errstate(all="ignore"):
            lo = math.ldexp(p.lo * (1 - 1e-3), p.kc)
            hi = math.ldexp(p.hi * (1 + 1e-3), p.kc)
        if lo > 0 and math.isfinite(hi):
            kw["bounds"] = (lo, hi)
    if rng.random() < 0.3:
        kw["max_matvecs"] = int(rng.integers(1, 2 * p.n + 10))
    if rng.random() < 0.15:
        kw["memory"] = "low"
    atol = 0.0
    truth = p.apply0(vals)
    factor = p.kd + deg * p.kc
    if rng.random() < 0.2 and not p.out_of_range(float(np.linalg.norm(truth)), factor):
        atol = rtol * math.ldexp(float(np.linalg.norm(truth)), round(factor))
    p.expect(truth, factor)
    x, info = matfun.lanczos_apply(op, p.g, f, rtol=rtol, atol=atol, full_output=True, **kw)
    if not finite(x):
        return "nonfinite"
    if info.converged:
        # The condition number of g -> f(H) g: ||f(H)|| ||g|| / ||f(H) g|| (kappa^alpha
        # for |x|^-alpha and g on the fast modes), and at least kappa(H) (rounding of H).
        cond = float(np.max(np.abs(vals)) * np.linalg.norm(p.gw) / np.linalg.norm(truth))
        compare(p, x, truth, factor, rtol, atol, max(p.kappa, cond, 1.0))
    return bool(info.converged)


def t_chebyshev(p, rng):
    form, op = p.operator(rng)
    rtol = p.rtol(rng)
    mu = 0.0
    mu0 = 0.0
    if rng.random() < 0.4 and abs(p.kc) < 500:
        mu0 = float(10 ** rng.uniform(-4, 0)) * p.hi ** 2
        mu = math.ldexp(mu0, 2 * p.kc)
        mu0 = math.ldexp(mu, -2 * p.kc)
    kw = {}
    if rng.random() < 0.3 and abs(p.kc) < 500:
        lo = math.ldexp((p.lo ** 2 + mu0) * (1 - 1e-3), 2 * p.kc)
        hi = math.ldexp((p.hi ** 2 + mu0) * (1 + 1e-3), 2 * p.kc)
        if lo > 0 and math.isfinite(hi):
            kw["interval"] = (lo, hi)
    if rng.random() < 0.4:
        kw["max_matvecs"] = int(rng.integers(1, 4000))
    vals = 1 / np.sqrt(p.w ** 2 + mu0)
    p.expect(p.apply0(vals), p.kd - p.kc)
    x, info = matfun.chebyshev_inv_sqrt(op, p.g, rtol=rtol, damping=mu, full_output=True,
                                        **kw)
    if not finite(x):
        return "nonfinite"
    if info.converged:
        compare(p, x, p.apply0(vals), p.kd - p.kc, rtol, 0.0,
                float(vals.max() / vals.min()))
    return bool(info.converged)


def t_certified(p, rng):
    form, op = p.operator(rng)
    method = str(rng.choice(["auto", "eigh", "lanczos"]))
    box = matfun.spectrum.certified_interval(op, like=p.g, method=method,
                                             seed=int(rng.integers(1000)))
    lo, hi = float(box.lower), float(box.upper)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "nonfinite"
    lo0, hi0 = math.ldexp(lo, -p.kc), math.ldexp(hi, -p.kc)
    if not (lo0 <= p.lo and hi0 >= p.hi):
        raise Wrong(f"interval [{lo0:.6e}, {hi0:.6e}] misses |lambda| in "
                    f"[{p.lo:.6e}, {p.hi:.6e}] ({box.certificate}, {method})")
    return True


def t_exact(p, rng):
    form, op = p.operator(rng)
    which = str(rng.choice(["abs_inv", "inv", "inv_sqrt_square", "fractional_power",
                            "mp_abs_inv"]))
    w = p.sign * p.w
    deg, kappa = -1.0, p.kappa
    if which == "abs_inv":
        x, vals = matfun.exact.abs_inv(op, p.g), 1 / np.abs(w)
    elif which == "inv":
        x, vals = matfun.exact.inv(op, p.g), 1 / w
    elif which == "inv_sqrt_square":
        kind, lam, vals, kappa = damping_case(p, rng)
        x = matfun.exact.inv_sqrt_square(op, p.g, damping=lam, damping_kind=kind)
    elif which == "fractional_power":
        deg = float(rng.choice([-0.5, 0.5, 2.0, -1.0, 1 / 3]))
        x = matfun.exact.fractional_power(op, p.g, deg)
        with np.errstate(all="ignore"):
            vals = np.abs(w) ** deg
        if np.any(w < 0) and deg != round(deg):
            raise Wrong(f"fractional_power({deg}) returned on an indefinite H")
        if deg == round(deg):
            vals = w ** deg
        kappa = p.kappa * max(1, abs(deg))
    else:
        if p.n > 40:
            return "skip"
        x = matfun.exact.mp_abs_inv(p.H, p.g, dps=30)
        vals = 1 / np.abs(w)
    if not finite(x):
        return "nonfinite"
    compare(p, x, p.apply0(vals), p.kd + deg * p.kc, 0.0, 0.0,
            10 * p.n * max(kappa, 1.0), what="exact")
    return True


TARGETS = {
    "inv_sqrt lanczos": t_inv_sqrt("lanczos"),
    "inv_sqrt chebyshev": t_inv_sqrt("chebyshev"),
    "inv_sqrt series": t_inv_sqrt("series"),
    "inv_sqrt_series": t_series(False),
    "inv_sqrt_series accel": t_series(True),
    "neumann_series": t_power_series("neumann"),
    "binomial_series": t_power_series("binomial"),
    "lanczos_apply": t_lanczos_apply,
    "chebyshev_inv_sqrt": t_chebyshev,
    "certified_interval": t_certified,
    "exact": t_exact,
}
DEFINITE = {"neumann_series": 0.8, "binomial_series": 0.8}


# ---------------------------------------------------------------- accel


def accel_cases(rng, count_per_sequence):
    """Yield ``(label, callable)``: one accelerator run each."""
    import mpmath

    mp = mpmath.mp
    mp.dps = 40
    methods = list(accel.methods())
    for seq in accel.testing.classic_sequences():
        terms = seq.partial(mp, seq.count)
        limit = seq.limit(mp)
        vector = isinstance(limit, (list, tuple))
        s = np.array([[float(t) for t in term] if vector else float(term)
                      for term in terms], dtype=np.float64)
        L = np.array([float(t) for t in limit] if vector else float(limit))
        for _ in range(count_per_sequence):
            method = str(rng.choice(methods))
            order = int(rng.integers(1, 4))
            k = int(rng.integers(-900, 900))
            b = float(rng.choice([0.0, 1.0, -3.5, 1e6])) * (2.0 ** k) * float(
                np.max(np.abs(L)) + 1)
            yield (f"{seq.name} {method}-{order} *2^{k} +{b:.1e}",
                   (lambda s=s, L=L, m=method, o=order, k=k, b=b: accel_run(s, L, m, o, k, b)))


def stream(s, method, order):
    acc = accel.accelerator(method, order=order)
    out = []
    for term in s:
        acc.push(np.asarray(term))
        out.append(acc.result())
    return out


def accel_run(s, L, method, order, k, b):
    with np.errstate(over="ignore"):
        scaled = np.ldexp(s, k)
    if not np.all(np.isfinite(scaled)):
        return "skip"
    a = stream(s, method, order)
    c = stream(scaled, method, order)
    converged = False
    for m, (r, rc) in enumerate(zip(a, c, strict=True)):
        for res in (r, rc):
            if not (finite(res.estimate) and not math.isnan(res.error)):
                return "nonfinite"
        if r.status != rc.status or not np.array_equal(np.ldexp(np.asarray(r.estimate), k),
                                                       np.asarray(rc.estimate)):
            raise Wrong(f"not homogeneous at term {m}: {r.status}/{rc.status} "
                        f"{r.estimate} vs {rc.estimate} (2^{k})")
        if r.status == accel.Status.CONVERGED:
            converged = True
            floor = 16 * np.finfo(np.float64).eps * float(np.max(np.abs(s[: m + 1])))
            err = float(np.max(np.abs(np.asarray(r.estimate) - L)))
            if not err <= 10 * r.error + floor:
                raise Wrong(f"CONVERGED at term {m} off by {err:.2e}, reported "
                            f"{r.error:.2e}")
    if b:
        t = s + b
        for m, r in enumerate(stream(t, method, order)):
            if not finite(r.estimate):
                return "nonfinite"
            if r.status == accel.Status.CONVERGED:
                converged = True
                floor = 16 * np.finfo(np.float64).eps * float(np.max(np.abs(t[: m + 1])))
                err = float(np.max(np.abs(np.asarray(r.estimate) - (L + b))))
                if not err <= 10 * r.error + floor:
                    raise Wrong(f"translated by {b:.1e}: CONVERGED at term {m} off by "
                                f"{err:.2e}, reported {r.error:.2e}")
    return converged


# ---------------------------------------------------------------- driver


def classify(exc):
    """``"clear"`` or ``"unclear"`` for an exception raised by the library."""
    frames = traceback.extract_tb(exc.__traceback__)
    origin = frames[-1].filename if frames else ""
    own = type(exc).__module__.split(".")[0] in ("matfun", "accel")
    from_library = origin.startswith(LIBRARY_DIRS)
    if own or (isinstance(exc, CLEAR_TYPES) and from_library):
        return "clear"
    return "unclear"


def run_one(counts, notes, name, call, problem=None):
    counts[name]["cases"] += 0  # create the row
    signal.alarm(TIMEOUT_S)
    try:
        outcome = call()
    except Hang:
        outcome = "hang"
    except Wrong as exc:
        outcome = "wrong"
        signal.alarm(0)
        notes[name].append(f"WRONG #{case_index(name)} {exc}")
    except Exception as exc:  # noqa: BLE001 -- the point is to count them
        signal.alarm(0)
        outcome = classify(exc)
        unconverged = getattr(getattr(exc, "info", None), "converged", None) is False
        if (outcome == "clear" and isinstance(exc, RANGE_ERRORS) and problem is not None
                and problem.in_range and not unconverged):
            outcome = "range?"  # refused an answer the dtype can hold
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{os.path.relpath(frame.filename, ROOT)}:{frame.lineno}"
        notes[name].append(f"{outcome.upper()} #{case_index(name)} {type(exc).__name__}: "
                           f"{str(exc)[:150]} [{where}]")
    finally:
        signal.alarm(0)
    if outcome == "skip":
        return None
    if outcome in ("nonfinite", "hang"):
        notes[name].append(f"{outcome.upper()} #{case_index(name)}")
    counts[name]["cases"] += 1
    if outcome is True or outcome == "wrong":
        counts[name]["converged"] += 1
    if isinstance(outcome, str):
        counts[name][outcome] += 1
    if problem is not None and problem.flushed:
        counts[name]["flushed"] += 1
    return outcome


_INDEX = {}


def case_index(name):
    return _INDEX.get(name, "?")


def make_case(seed, i, name):
    """The ``i``-th problem of target ``name``: ``(problem, rng)``."""
    case_rng = np.random.default_rng([seed, i, zlib.crc32(name.encode())])
    definite = case_rng.random() < DEFINITE.get(name, 0.0)
    dtypes = None
    if name == "exact" and case_rng.random() < 0.5:
        dtypes = ["float64", "complex128"]
    return Problem(case_rng, definite=definite, dtypes=dtypes), case_rng


def replay(seed, name, i):
    """Run one case without catching anything (for a reproducer)."""
    p, rng = make_case(seed, i, name)
    print(p.label)
    print(TARGETS[name](p, rng))


def fuzz(seed=0, quick=False, show=3, out=sys.stdout, only=None):
    rng = np.random.default_rng(seed)
    per_target = 5 if quick else 120
    per_sequence = 1 if quick else 4
    counts = defaultdict(Counter)
    notes = defaultdict(list)
    old = signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(per_target):
                for name, target in TARGETS.items():
                    if only and name not in only:
                        continue
                    _INDEX[name] = i
                    p, case_rng = make_case(seed, i, name)
                    outcome = run_one(counts, notes, name,
                                      lambda t=target, p=p, r=case_rng: t(p, r), p)
                    if outcome in BAD:
                        notes[name][-1 if notes[name] else 0:] = [
                            (notes[name][-1] if notes[name] else outcome) + f"  <{p.label}>"]
            _INDEX["accel (classic)"] = "-"
            for label, call in accel_cases(rng, 0 if only else per_sequence):
                run_one(counts, notes, "accel (classic)", call)
                if notes["accel (classic)"] and not notes["accel (classic)"][-1].endswith(">"):
                    notes["accel (classic)"][-1] += f"  <{label}>"
    finally:
        signal.signal(signal.SIGALRM, old)
    elapsed = time.perf_counter() - start
    lines = [f"| function | {' | '.join(COLUMNS)} |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    total = Counter()
    for name in list(TARGETS) + ["accel (classic)"]:
        row = counts[name]
        total.update(row)
        lines.append(f"| {name} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    lines.append("| **total** | " + " | ".join(str(total[c]) for c in COLUMNS) + " |")
    print("\n".join(lines), file=out)
    print(f"\nseed {seed}, {'quick' if quick else 'full'}, {elapsed:.0f} s", file=out)
    for name, items in notes.items():
        bad = [x for x in items if not x.startswith("CLEAR")]
        clear = Counter(x.split(" ", 2)[2].split("[")[0][:110] for x in items
                        if x.startswith("CLEAR"))
        if bad or (show and clear):
            print(f"\n{name}:", file=out)
        for x in bad[: max(show, 0) or len(bad)]:
            print("  ", x, file=out)
        for x, c in clear.most_common(show):
            print(f"   {c} x {x}", file=out)
    return total, counts


def main(argv=None):
    global FLOOR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 20 s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=3,
                        help="examples per function and kind of failure")
    parser.add_argument("--replay", nargs=2, metavar=("FUNCTION", "INDEX"),
                        help="rerun one case uncaught, e.g. --replay 'lanczos_apply' 17")
    parser.add_argument("--floor", type=float, default=10.0,
                        help="conditioning floor: FLOOR kappa eps relative (default 10)")
    parser.add_argument("--only", nargs="+", help="fuzz only these functions (no accel)")
    args = parser.parse_args(argv)
    FLOOR = args.floor
    if args.replay:
        replay(args.seed, args.replay[0], int(args.replay[1]))
        return 0
    total, _ = fuzz(args.seed, args.quick, args.show, only=args.only)
    bad = sum(total[c] for c in BAD)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
