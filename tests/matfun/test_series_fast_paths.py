"""The series' fast paths change no float: each is checked against the plain path it skips.

The per-term shortcuts of :mod:`matfun._engine` and :mod:`matfun._driver` (unscaled
products divided once in the recurrence, the dot-product screen of the adaptive bound,
the norm of the partial sum computed only when the check could change, NumPy norms as
``sqrt(sum(v * v))``, the outer product's finiteness check deferred to the next term's
norm, the partial sum updated in place when nothing keeps the earlier ones) claim to
return the same floats as the straightforward code. Each
test turns one shortcut off and asserts bitwise equality of ``x`` and every ``info``
field, over dtypes, operator units (inside and beyond the exact range of the unscaled
products), damping kinds, scale rules and an accelerator. The independent oracle for the
answers themselves is in ``test_series.py`` (eigendecomposition, mpmath).
"""

import dataclasses
import math
import warnings

import numpy as np
import pytest

import matfun
from matfun import _driver, _engine, _series_setup
from matfun.errors import SeriesDivergenceError, SeriesRangeError

# Inside the unscaled products' exact range (|log2 c| <= 64 in float64, <= 8 in
# float32) and beyond it, where each product is divided by c as before.
CASES = [(np.float64, unit) for unit in (1.0, 3.7, 2.0**-70, 2.0**70, 1e200)] + [
    (np.float32, unit) for unit in (1.0, 3.7, 2.0**12)]


def problem(n, seed, unit, dtype=np.float64):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, 6.0, n)
    H = (q * w) @ q.T
    return ((H + H.T) / 2 * unit).astype(dtype), rng.standard_normal(n).astype(dtype)


def calls(H, g, unit):
    yield lambda: matfun.inv_sqrt_series(H, g, full_output=True)
    yield lambda: matfun.inv_sqrt_series(H, g, accelerate="sablonniere", order=2,
                                         full_output=True)
    yield lambda: matfun.inv_sqrt_series(H, g, scale="lanczos", rtol=1e-5, full_output=True)
    yield lambda: matfun.inv_sqrt_series(H, g, damping=0.5 * unit, full_output=True)
    yield lambda: matfun.inv_sqrt_series(H, g, damping=0.5 * unit, damping_kind="shift",
                                         full_output=True)
    yield lambda: matfun.inv_sqrt_series(H, g, atol=1e-3 * float(np.max(np.abs(g))) / unit,
                                         rtol=0.0, full_output=True)
    yield lambda: matfun.inv_sqrt_series(H, g, max_matvecs=41, full_output=True)
    # SPD, scaled like H (H @ H itself would overflow for the huge units).
    Hn = H / H.dtype.type(unit)
    A = (Hn @ Hn + np.eye(H.shape[0], dtype=H.dtype)) * H.dtype.type(unit)
    yield lambda: matfun.neumann_series(A, g, full_output=True)
    yield lambda: matfun.binomial_series(A, g, 0.3, full_output=True)


def outcome(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            x, info = fn()
        except (SeriesRangeError, SeriesDivergenceError, ValueError) as err:
            return type(err).__name__, str(err)
    return np.asarray(x).copy(), dataclasses.asdict(info)


def assert_same(a, b):
    if isinstance(a[0], str) or isinstance(b[0], str):
        assert a == b
        return
    assert a[0].dtype == b[0].dtype and np.array_equal(a[0], b[0]), "x differs"
    for key, value in a[1].items():
        other = b[1][key]
        both_nan = isinstance(value, float) and math.isnan(value) and math.isnan(other)
        assert both_nan or value == other, (key, value, other)


@pytest.mark.parametrize(("dtype", "unit"), CASES)
@pytest.mark.parametrize("shortcut", ["fused", "screen", "skip_norm", "squares", "deferred",
                                      "overwrite"])
def test_shortcut_changes_no_float(monkeypatch, dtype, unit, shortcut):
    H, g = problem(16, 3, unit, dtype)
    fast = [outcome(fn) for fn in calls(H, g, unit)]
    if shortcut == "fused":
        monkeypatch.setattr(_series_setup, "_fusable", lambda e_c, g: False)
    elif shortcut == "screen":
        monkeypatch.setattr(_engine, "_may_exceed", lambda *args: True)
    elif shortcut == "skip_norm":
        monkeypatch.setattr(_driver._TailBound, "fails_anyway", lambda *args: False)
    elif shortcut == "squares":
        plain = _engine._norm
        monkeypatch.setattr(_engine, "_norm", lambda xp, v, squares: plain(xp, v, False))
    elif shortcut == "deferred":  # every product checked as it comes
        monkeypatch.setattr(_series_setup, "_deferred_square",
                            lambda H: lambda v: (H.matvec(H.matvec(v)), None))
        monkeypatch.setattr(_series_setup, "_deferred_plain",
                            lambda H: lambda v: (H.matvec(v), None))
    else:
        original = _engine.iterate_partial_sums

        def fresh(*args, **kwargs):
            kwargs["overwrite"] = False
            return original(*args, **kwargs)

        monkeypatch.setattr(_driver, "iterate_partial_sums", fresh)
    slow = [outcome(fn) for fn in calls(H, g, unit)]
    for a, b in zip(fast, slow, strict=True):
        assert_same(a, b)


def test_the_fused_range_is_exercised_and_left():
    # 2^70 is beyond float32's fused range (|e_c| <= 8) and inside float64's (<= 64);
    # 1e200 beyond both: the fallback path is what the tests above compare there.
    g64, g32 = np.ones(3), np.ones(3, dtype=np.float32)
    assert _series_setup._fusable(64, g64) and not _series_setup._fusable(65, g64)
    assert _series_setup._fusable(-8, g32) and not _series_setup._fusable(9, g32)


def test_skipped_norms_are_skipped():
    # The shortcut must actually fire in a long run (else the test above proves nothing).
    H, g = problem(40, 5, 1.0)
    fired = []
    original = _driver._TailBound.fails_anyway

    def spy(self, *args):
        result = original(self, *args)
        fired.append(result)
        return result

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_driver._TailBound, "fails_anyway", spy)
        matfun.inv_sqrt_series(H, g)
    assert sum(fired) > len(fired) // 2 > 5


def test_the_deferred_check_is_in_use():
    # The shortcuts above must be the paths the default call takes (else comparing
    # them proves nothing): the spec carries the deferred product.
    H, g = problem(16, 3, 1.0)
    op, g = _series_setup.operator_and_vector(H, g)
    setup = _series_setup.setup_inv_sqrt(op, g, "adaptive", 1.0, 0.0, "abs")
    assert setup.spec.deferred is not None
