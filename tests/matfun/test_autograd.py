"""PyTorch autograd through the solvers: right gradients, or a clear refusal.

Oracle: ``torch.linalg.eigh`` of the same matrix (its gradient is the closed form of
the derivative of a function of a symmetric matrix, Daleckii-Krein). The series and
Chebyshev solves are polynomials in ``H`` applied to ``g`` whose coefficients come
from the host; at convergence the dependence through those coefficients is below the
tolerance, so autograd's gradient is right. Lanczos computes ``f(T_k) e_1`` on the
host from the Lanczos coefficients: autograd would see ``Q_k`` alone, and its
gradient was silently wrong (relative error 1.8), so it refuses such inputs.
"""

import pytest

import matfun

torch = pytest.importorskip("torch")

N = 30


def problem():
    generator = torch.Generator().manual_seed(0)
    A = torch.randn(N, N, dtype=torch.float64, generator=generator)
    g = torch.randn(N, dtype=torch.float64, generator=generator)
    w = torch.randn(N, dtype=torch.float64, generator=generator)
    return A, g, w


def exact(H, g):
    e, V = torch.linalg.eigh(H)
    return V @ ((V.T @ g) / e.abs())


def relative(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("method", ["series", "chebyshev"])
def test_gradients_through_series_and_chebyshev_match_eigh(method):
    A, g0, w = problem()
    # d/dg of w^T |H|^{-1} g is |H|^{-1} w: the solve's own accuracy (rtol 1e-10,
    # condition of |H| about 100) bounds the error, 1e-7 leaves room.
    g = g0.clone().requires_grad_()
    H = (A + A.T) / 2
    (w @ matfun.inv_sqrt(H, g, method=method, rtol=1e-10)).backward()
    assert relative(g.grad, exact(H, w)) < 1e-7
    # d/dA through a symmetric parametrisation: the derivative of a polynomial that
    # approximates |x|^-1 to 1e-10 on the spectrum (measured 3e-15 series, 1e-8
    # Chebyshev); 1e-6, while autograd seeing only part of the computation is O(1).
    B = A.clone().requires_grad_()
    (w @ matfun.inv_sqrt((B + B.T) / 2, g0, method=method, rtol=1e-10)).backward()
    C = A.clone().requires_grad_()
    (w @ exact((C + C.T) / 2, g0)).backward()
    assert relative(B.grad, C.grad) < 1e-6


@pytest.mark.parametrize("memory", ["full", "low"])
def test_lanczos_refuses_inputs_that_require_grad(memory):
    A, g0, _ = problem()
    H = (A + A.T) / 2
    with pytest.raises(TypeError, match="^g requires grad: Lanczos"):
        matfun.lanczos_apply(H, g0.clone().requires_grad_(), "inv_abs", memory=memory)
    with pytest.raises(TypeError, match="^op's product requires grad: Lanczos"):
        matfun.inv_sqrt(H.clone().requires_grad_(), g0, method="lanczos",
                        memory=memory)
    with torch.no_grad():  # no graph: the same call runs (the default one-pass form,
        # which reaches rtol here; the low-memory form honestly stops unconverged at n)
        x = matfun.inv_sqrt(H.clone().requires_grad_(), g0, method="lanczos")
    assert relative(x, exact(H, g0)) < 1e-6
