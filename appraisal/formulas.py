"""The appraisal's arithmetic, as pure functions: intervals, shrinkage, normalising, composite, ranks, attainment.

Everything here works on aggregates (a mean, a count, a sum of squares), never on items, so it costs the
same for ten items as for a million.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from functools import lru_cache
from statistics import NormalDist

#: Values are compared after rounding to this, so numbers equal in exact arithmetic rank equal.
RANK_PRECISION = 9
ATTAINMENT_LEVELS = ("far_below", "below", "met", "exceeded")


@lru_cache(maxsize=32)  # a run asks for the same one or two confidences thousands of times
def z_score(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (1.959963... for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(rate: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion ``rate`` (0..1) observed over ``n`` items.

    Unlike the normal approximation it stays within [0, 1] and is sensible for small n and rates near 0 or 1.
    """
    if n <= 0:
        return 0.0, 1.0
    rate = min(max(rate, 0.0), 1.0)
    z = z_score(confidence)
    denominator = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / denominator
    spread = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denominator
    # Rounding may put an end a hair past the rate when the rate is 0 or 1; the interval must contain it.
    return max(0.0, min(centre - spread, rate)), min(1.0, max(centre + spread, rate))


def mean_interval(mean: float, n: int, sum_of_squares: float, confidence: float = 0.95,
                  bounds: tuple[float, float] | None = None) -> tuple[float, float] | tuple[None, None]:
    """A normal-approximation interval for a mean, from the sum of squares; clipped to ``bounds``."""
    if n < 2:
        return (None, None) if bounds is None else bounds
    variance = max((sum_of_squares - n * mean * mean) / (n - 1), 0.0)
    half = z_score(confidence) * math.sqrt(variance / n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return low, high


def shrink(mean: float, n: int, prior: float | None, strength: float) -> float:
    """Empirical-Bayes shrinkage toward ``prior``: (n*mean + k*prior) / (n + k).

    With k = 0, or no prior, the mean is returned as it is; as n grows the pull of the prior fades.
    """
    if prior is None or strength <= 0:
        return mean
    return (n * mean + strength * prior) / (n + strength)


def normalise(value: float, bounds: tuple[float, float], direction: str = "higher") -> float:
    """Map ``value`` onto 0..100 between ``bounds`` (clipped), so that 100 is always the best."""
    low, high = bounds
    share = (value - low) / (high - low)
    share = min(max(share, 0.0), 1.0)
    return 100.0 * (share if direction == "higher" else 1.0 - share)


def composite(parts: Iterable[tuple[float, float]]) -> float | None:
    """sum(weight x normalised) / sum(weight) over ``(weight, normalised)`` parts; None without parts."""
    parts = [(w, x) for w, x in parts if w > 0]
    total = math.fsum(w for w, _ in parts)
    if not parts or total <= 0:
        return None
    value = math.fsum(w * x for w, x in parts) / total
    # fsum is exact, but the division may land a hair outside the parts' range; keep it inside.
    return min(max(value, min(x for _, x in parts)), max(x for _, x in parts))


def pooled_mean(groups: Iterable[tuple[float, int]]) -> float | None:
    """The mean over every item of several groups, given each group's ``(mean, n)``."""
    groups = [(m, n) for m, n in groups if n > 0]
    total = sum(n for _, n in groups)
    return math.fsum(m * n for m, n in groups) / total if total else None


def ranks(values: Mapping[Hashable, float], higher_is_better: bool = True
          ) -> dict[Hashable, tuple[int, float]]:
    """Rank and percentile for each key: competition ranks (1, 2, 2, 4) on values rounded to 1e-9.

    The percentile is the share of the other peers ranked below, ties counting half (mid-rank): 100 for
    the best alone, 0 for the worst alone, the same for equals; one peer alone: 100.
    """
    rounded = {key: round(value, RANK_PRECISION) for key, value in values.items()}
    ordered = sorted(rounded.values(), reverse=higher_is_better)
    count = len(ordered)
    first_position: dict[float, int] = {}
    for position, value in enumerate(ordered, start=1):
        first_position.setdefault(value, position)
    ties: dict[float, int] = {}
    for value in ordered:
        ties[value] = ties.get(value, 0) + 1
    results = {}
    for key, value in rounded.items():
        rank = first_position[value]
        below = count - (rank - 1) - ties[value]
        percentile = 100.0 if count == 1 else 100.0 * (below + (ties[value] - 1) / 2) / (count - 1)
        results[key] = (rank, percentile)
    return results


def attainment(value: float, target: float, far_below: float, exceeded: float, direction: str = "higher") -> str:
    """far_below | below | met | exceeded: how ``value`` stands against ``target``.

    The gap is measured in the metric's own units, in the better direction: more than ``far_below`` short
    is far below, any shortfall is below, at least ``exceeded`` past the target is exceeded.
    """
    gap = round(value - target if direction == "higher" else target - value, RANK_PRECISION)
    if gap >= exceeded:
        return "exceeded"
    if gap >= 0:
        return "met"
    if gap < -far_below:
        return "far_below"
    return "below"
