"""What every accelerator reports: an estimate, an error estimate and a status.

Batch functions return the estimate array; with ``full_output=True`` they return
an :class:`AccelResult`. Streaming accelerators (:class:`Accelerator`) expose the
same fields for the terms pushed so far.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AccelResult", "Accelerator", "Status"]


class Status(enum.StrEnum):
    """Outcome of an acceleration.

    ``ACCELERATING``: a finite estimate from the full order requested.
    ``CONVERGED``: the limit is known to the reported error: four runs of the
    transform (on the terms and without the newest one, two, three; none a
    breakdown) agree to the rounding floor, that floor is at most ``sqrt(eps)``
    of the estimate, the terms do not grow and resolved steps shrink
    (:mod:`accel._honest`). Never from one coincidence of terms, never on a
    divergent, drifting or oscillating series; equal terms only once there are
    as many as the four runs read.
    ``BREAKDOWN``: a zero or near-zero difference (singular table) that the
    method's rule could not pass; the estimate is the last finite one.
    ``NOT_ACCELERATING``: the error estimate exceeds the raw sequence's own
    geometric tail estimate ``||Delta_m|| |q| / (1 - q)`` (``Delta_m = s_m -
    s_{m-1}``, ``q = Re<Delta_m, Delta_{m-1}> / ||Delta_{m-1}||^2`` the observed
    ratio; ``||Delta_m||`` with two terms or when ``q >= 1``): the transform
    claims less accuracy than the plain sequence. The estimate is still the
    transform's, flagged.
    ``INSUFFICIENT_TERMS``: too few terms for any transformation; the estimate is
    the last term.
    """

    ACCELERATING = "accelerating"
    CONVERGED = "converged"
    BREAKDOWN = "breakdown"
    NOT_ACCELERATING = "not accelerating"
    INSUFFICIENT_TERMS = "insufficient terms"


@dataclass(frozen=True)
class AccelResult:
    """An accelerated estimate of a sequence's limit.

    Attributes
    ----------
    estimate : array
        Shape ``(n,)`` (vectors) or ``()`` (scalars), the backend of the input.
        Always finite.
    error : float
        A-posteriori (absolute) error estimate: the largest of the transform's
        own (its two best orders), the geometric tail of the estimates from
        fewer terms, and the rounding floor of the data (:mod:`accel._honest`);
        ``inf`` when there is nothing to compare. A named heuristic, checked on
        :mod:`accel.testing`, not a proven bound. Only ``CONVERGED`` is held to a
        rule there (true error at most three times ``error`` above rounding); an
        ``ACCELERATING`` result of a method that does not fit the sequence (a
        linear method on a logarithmic sequence) can under-report by orders of
        magnitude (measured up to 7e3x: ``docs/accelerators.md``).
    status : Status
    order : int
        The order actually reached (may be lower than asked after a breakdown).
    terms : int
        Number of sequence terms used.
    table : list or None
        The method's table when requested (``full_output`` with ``table=True``).
    """

    estimate: Any
    error: float
    status: Status
    order: int
    terms: int
    table: list | None = field(default=None, repr=False)


class Accelerator:
    """Streaming accelerator protocol: feed terms with :meth:`push`, read :attr:`estimate`.

    Subclasses keep only the storage their method needs and implement
    :meth:`push` and :meth:`result`.
    """

    name: str = "accelerator"

    def push(self, term: Any) -> None:
        """Feed the next term of the sequence."""
        raise NotImplementedError

    def result(self) -> AccelResult:
        """The current best estimate with its error and status."""
        raise NotImplementedError

    @property
    def estimate(self) -> Any:
        """The current best estimate of the limit."""
        return self.result().estimate

    def extend(self, terms: Any) -> Accelerator:
        """Push every term of ``terms`` (leading axis indexes the terms); returns self."""
        for m in range(terms.shape[0]):
            self.push(terms[m, ...])
        return self
