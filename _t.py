import numpy as np, time
import accel
from accel import _scalar
from accel.epsilon import wynn_weight
s=np.cumsum([(-1.0)**k/(k+1) for k in range(20)])
def best(f, n=2000):
    b=1e9
    for _ in range(n):
        t=time.perf_counter(); f(); b=min(b,time.perf_counter()-t)
    return b*1e6
print("full", best(lambda: accel.shanks(s, full_output=True)))
print("fast", best(lambda: _scalar.epsilon_fast(s, weight=wynn_weight)))
unit, rows, c, e = _scalar._prepare(s, True)
print("prepare", best(lambda: _scalar._prepare(s, True)))
print("columns", best(lambda: _scalar._epsilon_columns(rows, 18, wynn_weight)))
print("levin full", best(lambda: accel.levin(s, full_output=True)))
unit, rows, c, e = _scalar._prepare(s, False)
print("levin prepare", best(lambda: _scalar._prepare(s, False)))
print("weights", best(lambda: _scalar._levin_weights(rows, "t", 1.0)))
sums, inv = _scalar._levin_weights(rows, "t", 1.0)
f=_scalar._shared_factors(20, 1.0)
X=np.concatenate([sums*inv, inv])
print("recursion", best(lambda: _scalar._recursion(X, f)))
