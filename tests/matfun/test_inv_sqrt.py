"""The front door matfun.inv_sqrt: every method and damping kind against eigh."""

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matfun
from matfun.errors import SeriesConvergenceWarning
from matfun.inv_sqrt import SolveInfo, inv_sqrt
from tests._helpers import to_numpy


def indefinite(n, seed, kappa):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    matrix = (q * eigenvalues) @ q.T
    return (matrix + matrix.T) / 2, eigenvalues, q


DAMPED = {
    "abs": lambda lam, d: 1 / (np.abs(lam) + d),
    "square": lambda lam, d: (lam**2 + d) ** -0.5,
    "shift": lambda lam, d: 1 / np.abs(lam + d),
}


def oracle(q, eigenvalues, g, damping, kind):
    return q @ (DAMPED[kind](eigenvalues, damping) * (q.T @ g))


def relative_error(x, expected):
    return np.linalg.norm(to_numpy(x).astype(np.float64) - expected) / np.linalg.norm(expected)


@given(n=st.integers(3, 25), seed=st.integers(0, 2**16), kappa=st.floats(1.5, 8.0),
       method=st.sampled_from(["series", "chebyshev", "lanczos"]),
       kind=st.sampled_from(["abs", "square", "shift"]), damping=st.sampled_from([0.0, 0.7]),
       single=st.booleans())
def test_every_method_meets_its_tolerance(xp, n, seed, kappa, method, kind, damping, single):
    if method == "chebyshev" and kind == "abs" and damping:
        return  # unsupported, tested below
    if kind == "shift" and damping:
        kappa = max(kappa, 2.0)  # keep |l + 0.7| >= 0.3: condition of |H + lam I| <= 30
    dtype, tol = (np.float32, 1e-4) if single else (np.float64, 1e-8)
    H, eigenvalues, q = indefinite(n, seed, kappa)
    g = np.random.default_rng(seed).standard_normal(n)
    options = {}
    if method == "chebyshev" and not (damping and kind == "square"):
        # The undamped lower end is only estimated by default; give it (module doc).
        low = np.min(np.abs(eigenvalues + (damping if kind == "shift" else 0.0)))
        options["interval"] = (low**2, None)
    x, info = inv_sqrt(xp.asarray(H.astype(dtype)), xp.asarray(g.astype(dtype)),
                       method=method, rtol=tol, damping=damping, damping_kind=kind,
                       full_output=True, **options)
    assert x.dtype == (xp.float32 if single else xp.float64)
    assert isinstance(info, SolveInfo) and info.method == method
    # Converged, or (Chebyshev) honestly declined: its rounding estimate 8 eps d A
    # (A <= cond) exceeds the tolerance (float32 at 1e-4 with cond ~ 10).
    assert info.converged or (method == "chebyshev" and info.details.rounding > tol)
    # Each method's estimate targets the relative error; series and Lanczos estimates
    # are a-posteriori (factor 10 margin), Chebyshev's is a bound. Rounding floor:
    # 100 * cond * eps with cond <= 30 (the shifted case) and the series' sum of
    # up to ~1e4 terms adding about sqrt(terms) eps.
    floor = 100 * 30 * np.finfo(dtype).eps * (30 if method == "series" else 1)
    error = relative_error(x, oracle(q, eigenvalues, g, damping, kind))
    assert error <= 10 * tol + floor


def test_lanczos_is_the_default_and_beats_chebyshev_and_series():
    H, eigenvalues, q = indefinite(120, 0, 20.0)
    g = np.random.default_rng(0).standard_normal(120)
    counts = {}
    for method in ["lanczos", "chebyshev", "series"]:
        options = {"interval": (1.0, None)} if method == "chebyshev" else {}
        x, info = inv_sqrt(H, g, method=method, rtol=1e-6, full_output=True, **options)
        assert relative_error(x, oracle(q, eigenvalues, g, 0.0, "abs")) <= 1e-5
        counts[method] = info.matvecs
    assert counts["lanczos"] < counts["chebyshev"] < counts["series"]


def test_budgets_are_respected():
    H, _, _ = indefinite(100, 1, 50.0)
    g = np.random.default_rng(1).standard_normal(100)
    for method in ["lanczos", "chebyshev"]:
        options = {"interval": (1.0, None)} if method == "chebyshev" else {}
        _, info = inv_sqrt(H, g, method=method, rtol=1e-10, max_matvecs=30, full_output=True,
                           **options)
        assert info.matvecs <= 30 and not info.converged
    with pytest.warns(SeriesConvergenceWarning):
        _, info = inv_sqrt(H, g, method="series", rtol=1e-10, max_matvecs=30, full_output=True)
    assert info.matvecs <= 30 + 2 and not info.converged  # adaptive V: the first product


def test_solve_info_is_frozen():
    _, info = inv_sqrt(np.diag([1.0, -2.0]), np.ones(2), full_output=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.matvecs = 0
    assert info.details.status in ("breakdown", "converged")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="cg"), ValueError, "method"),
    (dict(damping_kind="soft"), ValueError, "damping_kind"),
    (dict(damping=-1.0), ValueError, "damping"),
    (dict(damping="x"), TypeError, "damping"),
    (dict(max_matvecs=0), ValueError, "max_matvecs"),
    (dict(method="chebyshev", damping=1.0, damping_kind="abs"), ValueError, "square"),
    (dict(method="lanczos", scale=2.0), TypeError, "options"),
    (dict(method="series", terms=3), TypeError, "terms"),
])
def test_bad_input(kwargs, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=match):
            inv_sqrt(np.diag([1.0, -2.0, 3.0]), np.ones(3), **kwargs)


@pytest.mark.parametrize("budget", [60, 501])
def test_series_never_exceeds_the_matvec_budget(budget):
    # Adaptive V restarts and the initial bound spend matvecs beyond 2 per term: the budget
    # counts them all (an indefinite matrix far from the initial V = 100 restarts).
    rng = np.random.default_rng(3)
    a = rng.standard_normal((30, 30))
    H = 10 * (a + a.T)
    with pytest.warns(matfun.SeriesConvergenceWarning):
        x, info = matfun.inv_sqrt(H, rng.standard_normal(30), method="series", rtol=1e-12,
                                  max_matvecs=budget, full_output=True)
    assert info.matvecs <= budget and not info.converged
    assert info.details.stopped_by == "max_matvecs" and info.details.restarts > 0
    assert np.all(np.isfinite(x))


def test_series_budget_is_validated_before_any_matvec():
    calls = []

    def matvec(v):
        calls.append(1)
        return v

    with pytest.raises(ValueError, match="max_matvecs"):
        matfun.inv_sqrt_series(matvec, np.ones(3), max_matvecs=0)
    assert not calls


def test_lanczos_with_spectral_bounds_stops_on_a_guaranteed_bound():
    H, eigenvalues, q = indefinite(150, 2, 30.0)
    g = np.random.default_rng(2).standard_normal(150)
    x, info = inv_sqrt(H, g, rtol=1e-7, bounds=(1.0, 30.0), full_output=True)
    assert info.converged and info.details.bounded
    error = relative_error(x, oracle(q, eigenvalues, g, 0.0, "abs"))
    # A proven bound: no factor 10; rounding floor 100 * cond * eps.
    assert error <= info.error_estimate + 100 * 30 * np.finfo(float).eps <= 1e-7 + 1e-12


def test_lanczos_low_memory_option():
    H, eigenvalues, q = indefinite(80, 3, 5.0)
    g = np.random.default_rng(3).standard_normal(80)
    x, info = inv_sqrt(H, g, rtol=1e-9, memory="low", full_output=True)
    assert info.converged and info.matvecs == 2 * info.details.steps  # both passes
    # Heuristic estimate (factor 10) plus rounding 100 * cond * eps, cond = 5.
    assert relative_error(x, oracle(q, eigenvalues, g, 0.0, "abs")) <= 1e-8 + 1e-12
