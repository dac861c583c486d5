"""Inputs the libraries cannot run on get a clear error at the front door.

A JAX tracer (inside ``jax.jit``, ``jax.grad``, ``jax.vmap``) raised JAX's own
``ConcretizationTypeError`` / ``TracerBoolConversionError`` from deep inside a
solver or accelerator; a Dask array of unknown chunk sizes (boolean indexing) raised
``ValueError: cannot convert float NaN to integer``. Both now fail at once, naming the
argument.
"""

import numpy as np
import pytest

import accel
import matfun

H = np.diag([2.0, -1.0, 0.5])
G = np.ones(3)
SEQ = np.array([1.0, 0.5, 0.75, 0.625, 0.6875])


def _transformations(jax):
    jnp = jax.numpy
    return {
        "jit": lambda f, x: jax.jit(f)(x),
        "grad": lambda f, x: jax.grad(lambda v: jnp.sum(f(v)))(x),
        "vmap": lambda f, x: jax.vmap(f)(jnp.stack([x, x])),
    }


@pytest.mark.parametrize("transform", ["jit", "grad", "vmap"])
@pytest.mark.parametrize("call, name", [
    (lambda jnp, v: matfun.inv_sqrt(jnp.asarray(H), v), "g"),
    (lambda jnp, v: matfun.inv_sqrt_series(jnp.asarray(H), v, terms=5), "g"),
    (lambda jnp, v: matfun.inv_sqrt(v * jnp.eye(3), jnp.ones(3)), "op|g"),
    (lambda jnp, v: accel.shanks(v), "seq"),
    (lambda jnp, v: accel.accelerator("sablonniere").push(v), "term"),
], ids=["inv_sqrt", "inv_sqrt_series", "traced_op", "shanks", "push"])
def test_a_jax_tracer_is_refused_naming_the_argument(transform, call, name):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    x = jnp.asarray(SEQ if name in ("seq",) else G)
    with pytest.raises(TypeError, match=f"^({name}) is a JAX tracer"):
        _transformations(jax)[transform](lambda v: call(jnp, v), x)


def test_concrete_jax_arrays_still_work():
    jax = pytest.importorskip("jax")
    # float32 unless another module turned on jax_enable_x64: rtol for float32.
    x = matfun.inv_sqrt(jax.numpy.asarray(H), jax.numpy.asarray(G), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(x), [0.5, 1.0, 2.0], rtol=1e-4)


@pytest.mark.parametrize("call, name", [
    (lambda v: matfun.inv_sqrt(H, v), "g"),
    (lambda v: accel.shanks(v), "seq"),
    (lambda v: accel.accelerator("shanks").push(v), "term"),
], ids=["inv_sqrt", "shanks", "push"])
def test_a_dask_array_of_unknown_size_is_refused_naming_the_argument(call, name):
    da = pytest.importorskip("dask.array")
    v = da.from_array(np.concatenate([G, -G]), chunks=2)
    unknown = v[v > 0]  # shape (nan,) until its chunk sizes are computed
    with pytest.raises(ValueError, match=f"^{name} has a dimension of unknown size"):
        call(unknown)
    known = unknown.compute_chunk_sizes()
    if name == "g":
        np.testing.assert_allclose(np.asarray(matfun.inv_sqrt(da.from_array(H), known)),
                                   [0.5, 1.0, 2.0], rtol=1e-7)


def test_a_dask_operator_of_unknown_size_is_refused():
    da = pytest.importorskip("dask.array")
    v = da.from_array(np.concatenate([G, -G]), chunks=2)
    matrix = da.diag(v[v > 0])  # shape (nan, nan)
    with pytest.raises(ValueError, match="^op has a dimension of unknown size"):
        matfun.inv_sqrt(matrix, da.from_array(G))
