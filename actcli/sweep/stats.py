"""Small statistics for comparing runs over seeds, valid at three seeds.

A cell is compared with the best one seed by seed (the same seed gives both the same data
split and initialisation stream), so each pair of runs gives one difference. Over those
differences: the mean with a Student-t 95% confidence interval, and an exact sign-flip
(permutation) test, which assumes only that a difference is as likely to be positive as
negative when the two cells are alike. It is exact at any number of seeds and handles
differences that are all equal (zero variance). Holm's step-down method corrects the
p-values for the number of cells compared.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EXACT_UP_TO = 16  # seeds up to which the sign-flip test enumerates all 2^n sign patterns
DRAWS = 200_000  # random sign patterns beyond that (seeded, so the p-value is repeatable)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t confidence interval of the mean. Zero variance gives
    a zero-width interval; a single value has none (nan, nan)."""
    mean, std = mean_std(values)
    n = len(values)
    if n < 2:
        return mean, math.nan, math.nan
    half = t_quantile(0.5 + level / 2, n - 1) * std / math.sqrt(n)
    return mean, mean - half, mean + half


def sign_flip_p(differences: Sequence[float]) -> float:
    """Two-sided p-value of the exact sign-flip test that the differences centre on zero.

    The share of the 2^n ways of flipping the signs whose |sum| is at least the observed
    |sum|. All differences zero gives 1; n equal non-zero differences give 2 / 2^n, the
    smallest p that n seeds can give.
    """
    n = len(differences)
    if n == 0:
        return 1.0
    observed = abs(sum(differences))
    slack = 1e-12 * max(1.0, sum(abs(d) for d in differences))  # rounding of the sums
    import numpy as np

    if n <= EXACT_UP_TO:
        # every sign pattern at once: row k of `signs` holds the bits of k as +-1
        bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
        sums = np.abs((1.0 - 2.0 * bits) @ np.asarray(differences, dtype=float))
        return int((sums >= observed - slack).sum()) / 2 ** n

    signs = np.random.default_rng(0).choice((-1.0, 1.0), size=(DRAWS, n))
    hits = int((np.abs(signs @ np.asarray(differences, dtype=float)) >= observed - slack).sum())
    return (1 + hits) / (1 + DRAWS)


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value the sign-flip test can give with ``n`` pairs."""
    return min(1.0, 2.0 / 2 ** n)


def seeds_needed(comparisons: int, alpha: float) -> int:
    """Fewest seeds with which a difference can reach p < ``alpha`` after Holm's correction
    over ``comparisons`` tests (the smallest p is multiplied by their number)."""
    n = 1
    while comparisons * smallest_p(n) >= alpha:
        n += 1
    return n


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (each capped at 1)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    square = t * t
    if square < df:  # near 0: integrate from the other end, where 1 - x keeps its digits
        tail = 0.5 * (1.0 - betainc(0.5, df / 2, square / (df + square)))
    else:
        tail = 0.5 * betainc(df / 2, 0.5, df / (df + square))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p, by bisection on :func:`t_cdf` (to about 1e-12)."""
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p}")
    low, high = -1.0, 1.0
    while t_cdf(low, df) > p:
        low *= 2
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, abs(mid)):
            break
    return (low + high) / 2


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b), by its continued fraction (Lentz's method)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast on this side only
        return 1.0 - betainc(b, a, 1 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return front * h / a
