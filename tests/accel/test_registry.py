"""accelerator(name): streaming equals the batch function on the window, for every method."""

import importlib

import numpy as np
import pytest

import accel
from accel._registry import accelerator, methods, window_size
from accel._result import Accelerator, Status
from tests._helpers import to_numpy

BATCH = {
    "shanks": ("epsilon", "shanks"),
    "sablonniere": ("epsilon", "sablonniere"),
    "levin": ("levin", "levin"),
    "pade": ("pade", "pade"),
    "aitken": ("aitken", "aitken"),
    "richardson": ("richardson", "richardson"),
    "theta": ("theta", "theta"),
    "rho": ("rho", "rho"),
    "topological_epsilon": ("topological", "topological_epsilon"),
    "mpe": ("polynomial", "mpe"),
    "rre": ("polynomial", "rre"),
}
INDEXED = {"levin", "richardson"}
# The native epsilon streams evaluate the same table in another order (memory-lean
# anti-diagonals): equal to rounding. The alternating model below keeps the table's
# differences large (no cancellation), so a few hundred ulps bound the difference.
NATIVE_RTOL = 1e-12


def _batch(name):
    module, attribute = BATCH[name]
    return getattr(importlib.import_module(f"accel.{module}"), attribute)


def _vector_terms():
    # Three components: alternating, geometric and logarithmic-ish, all convergent.
    k = np.arange(12.0)
    return np.stack([np.cumsum((-1.0) ** k / (k + 1)),
                     np.cumsum(0.6 ** k),
                     np.cumsum((-0.8) ** k / (k + 1) ** 2)], axis=1)


def test_methods_lists_every_name():
    assert methods() == ("shanks", "sablonniere", "levin", "pade", "aitken", "richardson",
                         "theta", "rho", "topological_epsilon", "mpe", "rre")
    assert set(methods()) == set(BATCH)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", methods())
def test_streaming_equals_batch_on_the_window(name, order):
    terms = _vector_terms()
    stream = accelerator(name, order=order)
    assert isinstance(stream, Accelerator)
    assert stream.name == name and stream.order == order
    window = window_size(name, order)
    batch = _batch(name)
    for count in range(1, terms.shape[0] + 1):
        stream.push(terms[count - 1])
        assert stream.terms == count
        streamed = stream.result()
        kept = terms[max(0, count - window):count]
        options = {"first_index": max(0, count - window)} if name in INDEXED else {}
        expected = batch(kept, order=order, full_output=True, **options)
        assert np.isfinite(to_numpy(streamed.estimate)).all()
        assert streamed.status == expected.status, count
        assert streamed.order == expected.order
        if name in ("shanks", "sablonniere"):
            np.testing.assert_allclose(to_numpy(streamed.estimate), to_numpy(expected.estimate),
                                       rtol=NATIVE_RTOL)
        else:
            np.testing.assert_array_equal(to_numpy(streamed.estimate),
                                          to_numpy(expected.estimate))
        if count == 1:
            assert streamed.status is Status.INSUFFICIENT_TERMS


def test_streaming_with_options_and_backend(xp):
    terms = xp.asarray(_vector_terms())
    stream = accelerator("levin", order=3, variant="u", beta=2.0)
    stream.extend(terms)
    expected = accel.levin(terms[-6:, ...], variant="u", beta=2.0, order=3, first_index=6)
    np.testing.assert_array_equal(to_numpy(stream.estimate), to_numpy(expected))
    elementwise = accelerator("shanks", order=1, inverse="elementwise")
    elementwise.extend(terms)
    np.testing.assert_allclose(to_numpy(elementwise.estimate),
                               to_numpy(accel.shanks(terms[-3:, ...], order=1,
                                                     inverse="elementwise")),
                               rtol=NATIVE_RTOL)


def test_window_sizes_follow_the_documented_counts():
    # The terms each order reads, plus three for the error check (accel._honest).
    read = [5, 5, 4, 5, 5, 3, 7, 5, 5, 4, 4]
    assert [window_size(name, 2) for name in methods()] == [r + 3 for r in read]
    assert window_size("levin", 2, variant="v") == 5 + 3


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: accelerator("wynn"), ValueError, "method must be one of shanks, sablonniere"),
    (lambda: accelerator(3), ValueError, "method must be one of"),
    (lambda: accelerator("levin", order=0), ValueError, "order must be at least 1"),
    (lambda: accelerator("mpe", order=None), TypeError, "order must be an integer"),
    (lambda: accelerator("aitken", order=2.0), TypeError, "order must be an integer"),
    (lambda: accelerator("levin", variant="x"), ValueError, "variant must be one of"),
    (lambda: accelerator("pade", variant="t"), TypeError, "does not take"),
    (lambda: accelerator("richardson", first_index=3), TypeError, "set by the accelerator"),
], ids=["unknown", "not-a-string", "order-0", "order-none", "order-float", "variant", "option",
        "reserved"])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_public_namespace():
    for name in accel.__all__:
        assert getattr(accel, name) is not None
    assert callable(accel.shanks) and accel.Accelerator is Accelerator


# --- integration with matfun: every method accelerates the series' partial sums ---

def _indefinite_problem():
    rng = np.random.default_rng(0)
    n = 12
    basis = np.linalg.qr(rng.standard_normal((n, n)))[0]
    eigenvalues = np.linspace(-3, 3, n) + 0.05
    matrix = (basis * eigenvalues) @ basis.T
    g = rng.standard_normal(n)
    exact = (basis / np.abs(eigenvalues)) @ (basis.T @ g)  # |H|^{-1} g, independent oracle
    return matrix, g, exact


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", methods())
def test_every_method_through_inv_sqrt_series(name, order):
    matfun = pytest.importorskip("matfun")
    matrix, g, exact = _indefinite_problem()
    plain = matfun.inv_sqrt_series(matrix, g, terms=40, scale=10.0)
    x, info = matfun.inv_sqrt_series(matrix, g, terms=40, scale=10.0, accelerate=name,
                                     order=order, full_output=True)
    assert np.isfinite(x).all() and info.accelerator == name
    plain_error = np.linalg.norm(plain - exact)
    error = np.linalg.norm(x - exact)
    # Each method either improves on the plain truncation or says it is not accelerating
    # (componentwise methods meet a sum of 12 geometric modes per component here).
    assert error < plain_error or info.accelerator_status == Status.NOT_ACCELERATING.value


@pytest.mark.parametrize("name", sorted(BATCH))
def test_python_numbers_stream_as_float64_numpy_scalars(name):
    # A scalar sequence streamed as Python floats (ints, complex) must give the same
    # result as the same terms pushed as NumPy float64 (complex128) 0-d arrays.
    terms = np.cumsum([(-1.0) ** k / (k + 1) for k in range(12)])
    for cast in (float, complex):
        from_python, from_numpy = accelerator(name), accelerator(name)
        for t in terms:
            from_python.push(cast(t))
            from_numpy.push(np.asarray(cast(t)))
        a, b = from_python.result(), from_numpy.result()
        assert a.status == b.status and a.error == b.error
        np.testing.assert_array_equal(to_numpy(a.estimate), to_numpy(b.estimate))
    ints = accelerator(name)
    for t in (3, 1, 2):
        ints.push(t)
    assert to_numpy(ints.estimate).dtype == np.float64


@pytest.mark.parametrize("bad", [[1.0, 2.0], (1.0,), "x", None, True])
def test_non_array_terms_and_sequences_name_the_argument(bad):
    with pytest.raises(TypeError, match="^term must be a number or an array"):
        accelerator("shanks").push(bad)
    with pytest.raises(TypeError, match="^term must be a number or an array"):
        accelerator("levin").push(bad)
    with pytest.raises(TypeError, match="^seq must be an array"):
        accel.shanks(bad)


@pytest.mark.parametrize("name", methods())
def test_complex_scalar_stream_equals_the_batch_transform(name):
    # 0-d complex terms (the epsilon streams once raised a raw TypeError from float()
    # on them): the stream's result equals the batch transform of the complex sequence.
    k = np.arange(12.0)
    terms = np.cumsum((-1.0) ** k / (k + 1)) + 1j * np.cumsum(0.6 ** k)
    stream = accelerator(name, order=1)
    for t in terms:
        stream.push(np.asarray(t))
    window = window_size(name, 1)
    kept = terms[-window:]
    options = {"first_index": terms.size - kept.size} if name in INDEXED else {}
    expected = _batch(name)(kept, order=1, full_output=True, **options)
    streamed = stream.result()
    assert streamed.status == expected.status
    np.testing.assert_allclose(to_numpy(streamed.estimate), to_numpy(expected.estimate),
                               rtol=NATIVE_RTOL)
