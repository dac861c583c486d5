r"""Reduce a damping factor when the loss reaches a plateau.

:class:`ReduceOnPlateau` is the rule of PyTorch's ``ReduceLROnPlateau`` (mode ``min``,
relative threshold, no cooldown) applied to a damping factor instead of a learning
rate, as in seed 001 appendix F, where it multiplies grouped Newton's learning rates.
The rule is configuration only (a frozen dataclass); the numbers it evolves -- the
current damping, the best loss seen, the count of periods without improvement -- live
in the optimiser's state, so that a checkpointed run resumes bit for bit.

References
----------
Wolinski (2024), *Adapting Newton's method to neural networks through a summary of
higher-order derivatives*, appendix F ("schedule"); PyTorch,
``torch.optim.lr_scheduler.ReduceLROnPlateau``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._validation import check_integer
from ._oracle_calls import check_fraction, check_nonnegative, check_positive

__all__ = ["ReduceOnPlateau"]


@dataclass(frozen=True)
class ReduceOnPlateau:
    r"""Multiply the damping by ``factor`` after ``patience`` periods without progress.

    At each call the monitored loss :math:`m` (grouped Newton: the mean loss of the
    period since the previous call) is compared with the best one so far,
    :math:`m^\star` (:math:`+\infty` at the start):

    .. math::

        \text{improved} \iff m < m^\star - \tau\, |m^\star| .

    An improvement sets :math:`m^\star \leftarrow m` and the count of bad periods to
    ``0``; otherwise the count grows by one, and when it exceeds ``patience`` the damping
    becomes :math:`\max(\rho\,\lambda, \lambda_{\min})` and the count restarts at ``0``.
    ``patience=0`` therefore reduces at the first period without improvement.

    The damping never grows: it is capped by its initial value (at most ``1``: the
    model's optimal step) and floored at ``min_damping``, so that the step never
    vanishes however long the plateau.

    Parameters
    ----------
    patience : int
        Periods without improvement tolerated before a reduction, ``>= 0``.
    factor : float
        :math:`\rho \in (0, 1)`, the multiplier of a reduction.
    threshold : float
        :math:`\tau \ge 0`, the relative improvement that counts (``|m^*|`` makes it
        correct for negative losses too, where PyTorch's ``m^* (1 - tau)`` is not).
    min_damping : float
        :math:`\lambda_{\min} > 0`, the floor.

    Examples
    --------
    >>> rule = ReduceOnPlateau(patience=1, factor=0.5, min_damping=0.3)
    >>> damping, best, bad = 1.0, float("inf"), 0
    >>> for loss in [4.0, 3.0, 3.0, 3.0, 3.0, 3.0]:
    ...     damping, best, bad = rule.observe(loss, damping, best, bad)
    ...     print(damping, end=" ")
    1.0 1.0 1.0 0.5 0.5 0.3
    """

    patience: int = 10
    factor: float = 0.1
    threshold: float = 1e-4
    min_damping: float = 1e-3

    def __post_init__(self) -> None:
        check_integer(self.patience, "patience")
        check_fraction(self.factor, "factor", open_low=True)
        check_nonnegative(self.threshold, "threshold")
        check_positive(self.min_damping, "min_damping")
        if self.min_damping > 1:
            raise ValueError(f"min_damping must lie in (0, 1], got {self.min_damping!r}")

    def observe(self, loss: float, damping: float, best: float, bad: int
                ) -> tuple[float, float, int]:
        """One period's monitored ``loss``: the new ``(damping, best, bad)``."""
        if math.isinf(best) or loss < best - self.threshold * abs(best):
            return damping, loss, 0
        bad += 1
        if bad > self.patience:
            return max(damping * self.factor, self.min_damping), best, 0
        return damping, best, bad
