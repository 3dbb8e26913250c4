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


def _regularised_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularised incomplete beta function, by its continued fraction (modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below this point: use the symmetry
        return 1.0 - _regularised_beta(1.0 - x, b, a)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny, f, c, d = 1e-300, 1.0, 1.0, 0.0
    for step in range(400):
        m = step // 2
        if step == 0:
            term = 1.0
        elif step % 2 == 0:
            term = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            term = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + term * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + term / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        if abs(1.0 - c * d) < 1e-15:
            break
    return front * (f - 1.0)


@lru_cache(maxsize=4096)  # a run asks for the quantiles of a few hundred sample sizes
def t_score(confidence: float, df: int) -> float:
    """The two-sided quantile of Student's t with ``df`` degrees of freedom (12.706 for 0.95 and df = 1).

    Small samples need it rather than the normal 1.96: with four ratings a normal interval covered the true
    mean about 86% of the time where it claimed 95%.
    """
    if df <= 0:
        raise ValueError("t needs at least one degree of freedom")
    wanted_tail = (1 - confidence) / 2  # P(T > t) = I_{df/(df+t^2)}(df/2, 1/2) / 2

    def tail(t: float) -> float:
        return _regularised_beta(df / (df + t * t), df / 2, 0.5) / 2

    # The Cornish-Fisher expansion in 1/df: within 1e-7 from df = 100 on, where it is used alone (a run meets
    # hundreds of sample sizes); below, the start of Newton's method on the exact tail.
    z = z_score(confidence)
    t = (z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
         + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3))
    if df >= 100:
        return t
    log_density_scale = (math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) - 0.5 * math.log(df * math.pi)
    for _ in range(50):
        density = math.exp(log_density_scale - (df + 1) / 2 * math.log1p(t * t / df))
        step = (tail(t) - wanted_tail) / density
        t = max(t + step, t / 2)  # never past zero, where the tail is a half
        if abs(step) < 1e-12 * t:
            break
    return t


def mean_interval(mean: float, n: int, sum_of_squares: float, confidence: float = 0.95,
                  bounds: tuple[float, float] | None = None) -> tuple[float, float] | tuple[None, None]:
    """Student's t interval for a mean, from the sum of squares, cut to the values the metric can take.

    :param bounds: the lowest and highest value the metric can take (a rating's scale), or None. The
        guideline's normalising bounds are no such thing: cut to them, an interval came out back to front.
    """
    finite = bounds is not None and all(math.isfinite(b) for b in bounds)
    if n < 2:  # one item says nothing of the spread: anything the metric can take
        return tuple(bounds) if finite else (None, None)
    spread = max(sum_of_squares - n * mean * mean, 0.0)
    if finite and spread <= 1e-9 * max(sum_of_squares, 1.0):  # (what rounding leaves of no spread at all)
        # Answers all alike: no spread, and the t interval was a point ("5.00 to 5.00" from four 5s), as if four
        # answers ruled out a 4. Half an answer at each end of the scale joins the spread (not the mean), as NPS's
        # adjusted interval adds answers, so it narrows as alike answers add up. Only then: added always, it
        # widened every interval of a wide scale (reply times capped at 600 minutes: 0 to 46 for a mean of 18).
        spread = ((bounds[0] - mean) ** 2 + (bounds[1] - mean) ** 2) / 2
        variance = spread / n
    else:
        variance = spread / (n - 1)
    half = t_score(confidence, n - 1) * math.sqrt(variance / n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return min(low, mean), max(high, mean)


def nps_interval(promoters: float, detractors: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The adjusted Wald interval for a net score on -100..100 (Rocks, 2016, The American Statistician 70:4).

    Three-quarters of a promoter and of a detractor are added, and 3 to n, before the interval of a difference
    of two shares: unlike the plain interval of the points, it does not collapse to a point when every
    answer is alike (four 10s gave "100 to 100").
    """
    if n <= 0:
        return -100.0, 100.0
    adjusted = n + 3
    p, d = (promoters + 0.75) / adjusted, (detractors + 0.75) / adjusted
    half = z_score(confidence) * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / adjusted)
    observed = (promoters - detractors) / n
    low, high = max(p - d - half, -1.0), min(p - d + half, 1.0)
    return 100 * min(low, observed), 100 * max(high, observed)


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
          ) -> dict[Hashable, tuple[int, float | None]]:
    """Rank and percentile for each key: competition ranks (1, 2, 2, 4) on values rounded to 1e-9.

    The percentile is the share of the other peers ranked below, ties counting half (mid-rank): 100 for
    the best alone, 0 for the worst alone, the same for equals. Someone ranked alone has no percentile:
    compared with nobody, they are not at the top of anything (it had been 100, which met percentile tiers).
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
        percentile = None if count == 1 else 100.0 * (below + (ties[value] - 1) / 2) / (count - 1)
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
