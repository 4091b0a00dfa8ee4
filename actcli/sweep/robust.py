"""Robust summaries of a compare's per-seed scores.

The interquartile mean, percentile-bootstrap intervals (plain and stratified), the
probability of improvement, and average ranks with a bootstrap interval of each cell's mean
rank, as recommended by Agarwal et al., "Deep Reinforcement Learning at the Edge of the
Statistical Precipice" (NeurIPS 2021). Their library, rliable, is the reference for the
definitions; it is not a dependency, and only numpy is needed here.

Every function assumes HIGHER IS BETTER: rank 1 is the highest score, the best cell
normalises to 1, and the probability of improvement counts x > y. Callers negate quantities
where lower is better (epochs to reach a target, a loss) before passing them in.

Scores must not be NaN (a NaN has no place in an ordering); any NaN raises ValueError, as
does an empty sample.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import numpy as np

__all__ = [
    "average_ranks",
    "bootstrap_interval",
    "iqm",
    "mean_rank_intervals",
    "normalised",
    "probability_of_improvement",
    "stratified_bootstrap_interval",
]


def _sample(values: Sequence[float], what: str = "values") -> np.ndarray:
    """values as a 1-D float array; empty or NaN raises ValueError."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a flat sequence of numbers, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{what} is empty")
    if np.isnan(array).any():
        raise ValueError(f"{what} contains NaN")
    return array


def _check_bootstrap(reps: int, level: float) -> None:
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level}")


def _iqm_rows(rows: np.ndarray) -> np.ndarray:
    """The interquartile mean of each row of a 2-D array (see iqm)."""
    n = rows.shape[1]
    cut = int(0.25 * n)
    return np.sort(rows, axis=1)[:, cut:n - cut].mean(axis=1)


def _apply_rows(statistic: Callable[[np.ndarray], float], rows: np.ndarray) -> np.ndarray:
    """statistic of each row; the default iqm (and np.mean) without a Python loop."""
    if statistic is iqm:
        return _iqm_rows(rows)
    if statistic is np.mean:
        return rows.mean(axis=1)
    return np.array([float(statistic(row)) for row in rows])


def _percentile_interval(estimates: np.ndarray, level: float) -> tuple[float, float]:
    """The (1 - level) / 2 and (1 + level) / 2 percentiles of bootstrap estimates (along the
    first axis), numpy's default linear interpolation."""
    low, high = np.percentile(estimates, [50.0 * (1.0 - level), 50.0 * (1.0 + level)], axis=0)
    return float(low), float(high)


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the 25% trimmed mean, as scipy.stats.trim_mean(values, 0.25).

    Sort the n values, drop int(0.25 * n) from each end, and average the rest. With one to
    three values nothing is dropped (the plain mean); four values keep the middle two. It is
    rliable's aggregate_iqm. Empty raises ValueError.
    """
    return float(_iqm_rows(_sample(values)[None, :])[0])


# iqm itself, typed as the statistic the bootstraps take (an array is a fine Sequence[float]
# at run time, but not to mypy); the same object, so `statistic is iqm` still holds
_IQM = cast(Callable[[np.ndarray], float], iqm)


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = _IQM,
    *,
    reps: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """(low, high): percentile-bootstrap confidence interval of statistic(values).

    Draw `reps` resamples of the n values with replacement (numpy.random.default_rng(seed),
    so the interval is the same for the same seed), compute `statistic` on each, and take
    the (1 - level) / 2 and (1 + level) / 2 percentiles of those estimates. This is
    rliable's default 'percentile' method. A single value has only one resample, so its
    interval is (s, s) with s = statistic([v]); for iqm that is (v, v).
    """
    _check_bootstrap(reps, level)
    sample = _sample(values)
    if sample.size == 1:
        single = float(statistic(sample))
        return single, single
    rng = np.random.default_rng(seed)
    resamples = sample[rng.integers(0, sample.size, size=(reps, sample.size))]
    return _percentile_interval(_apply_rows(statistic, resamples), level)


def probability_of_improvement(x: Sequence[float], y: Sequence[float]) -> float:
    """P(X > Y) + 0.5 P(X = Y) for X drawn from x and Y from y.

    Counted over all len(x) * len(y) pairs: pairs with x > y count 1, ties count one half,
    divided by the number of pairs. That is the Mann-Whitney U statistic of x over y divided
    by m * n, rliable's probability_of_improvement for a single task. It is 0.5 when x and y
    are alike and probability_of_improvement(y, x) = 1 - probability_of_improvement(x, y).
    """
    xs = _sample(x, "x")
    ys = _sample(y, "y")
    greater = np.count_nonzero(xs[:, None] > ys[None, :])
    ties = np.count_nonzero(xs[:, None] == ys[None, :])
    return (greater + 0.5 * ties) / (xs.size * ys.size)


def _average_ranks_rows(rows: np.ndarray) -> np.ndarray:
    """Average ranks within each row of a 2-D array, rank 1 the highest (see average_ranks).

    Sort each row from highest to lowest; a run of equal values at sorted positions
    first..last (counting from 1) all get (first + last) / 2.
    """
    count, width = rows.shape
    order = np.argsort(-rows, axis=1, kind="stable")
    ordered = np.take_along_axis(rows, order, axis=1)
    positions = np.broadcast_to(np.arange(width), (count, width))
    starts = np.ones((count, width), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones((count, width), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, positions, width)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((count, width))
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    return ranks


def average_ranks(values: Sequence[float]) -> list[float]:
    """Rank of each value, 1 for the highest; exact ties share the average of their ranks.

    The same as scipy.stats.rankdata(-values, method="average"): [3, 1, 3] ranks [1.5, 3, 1.5].
    """
    return [float(rank) for rank in _average_ranks_rows(_sample(values)[None, :])[0]]


def normalised(means_by_cell: Mapping[str, float], values: Sequence[float]) -> list[float]:
    """Min-max normalisation of values over one task: (v - worst) / (best - worst).

    worst and best are the lowest and highest of means_by_cell's values (each cell's mean
    score on the task), so the worst cell's mean maps to 0 and the best cell's to 1; values
    outside that range map below 0 or above 1. When every cell has the same mean there is no
    range to scale by, and every value maps to 1.0 (all cells are equally the best).
    """
    if not means_by_cell:
        raise ValueError("means_by_cell is empty")
    means = _sample(list(means_by_cell.values()), "means_by_cell")
    worst, best = float(means.min()), float(means.max())
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"values must be a flat sequence of numbers, got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError("values contains NaN")
    if best == worst:
        return [1.0] * array.size
    return [float(v) for v in (array - worst) / (best - worst)]


def stratified_bootstrap_interval(
    groups: Sequence[Sequence[float]],
    statistic: Callable[[np.ndarray], float] = _IQM,
    *,
    reps: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """(low, high): stratified percentile-bootstrap confidence interval.

    As rliable's StratifiedBootstrap: each group (one task's per-seed scores of a cell) is
    resampled with replacement within itself, never mixing with the other groups; the
    resampled groups are concatenated and `statistic` applied to the whole. Repeat `reps`
    times (numpy.random.default_rng(seed)) and take the (1 - level) / 2 and (1 + level) / 2
    percentiles. Groups may differ in size. If every group has one value, there is only one
    resample and the interval is (s, s) with s the statistic of all the values.
    """
    _check_bootstrap(reps, level)
    if len(groups) == 0:
        raise ValueError("groups is empty")
    samples = [_sample(group, f"group {index}") for index, group in enumerate(groups)]
    if all(sample.size == 1 for sample in samples):
        single = float(statistic(np.concatenate(samples)))
        return single, single
    rng = np.random.default_rng(seed)
    resamples = np.concatenate(
        [sample[rng.integers(0, sample.size, size=(reps, sample.size))] for sample in samples],
        axis=1)
    return _percentile_interval(_apply_rows(statistic, resamples), level)


def mean_rank_intervals(
    scores: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    reps: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, tuple[float, float, float]]:
    """cell -> (mean rank, low, high): each cell's rank averaged over tasks, with a bootstrap
    interval.

    scores maps task -> cell -> per-seed scores, every task holding the same cells. On each
    task the cells are ranked by their mean score (average_ranks: 1 the highest, ties
    averaged), and a cell's mean rank is the average of its ranks over the tasks. The
    interval is a stratified percentile bootstrap: each (task, cell)'s seeds are resampled
    with replacement within themselves (numpy.random.default_rng(seed)), every task's ranks
    and the mean ranks are recomputed, `reps` times, and the (1 - level) / 2 and
    (1 + level) / 2 percentiles of each cell's mean rank taken. A cell missing from a task,
    or with no scores there, raises ValueError naming both.
    """
    _check_bootstrap(reps, level)
    if not scores:
        raise ValueError("scores has no tasks")
    cells: list[str] = []
    for by_cell in scores.values():
        cells.extend(cell for cell in by_cell if cell not in cells)
    for task, by_cell in scores.items():
        for cell in cells:
            if cell not in by_cell:
                raise ValueError(f"cell {cell!r} has no scores on task {task!r}")
    samples = {
        task: [_sample(by_cell[cell], f"scores of cell {cell!r} on task {task!r}")
               for cell in cells]
        for task, by_cell in scores.items()}

    rng = np.random.default_rng(seed)
    point = np.zeros(len(cells))
    resampled = np.zeros((reps, len(cells)))
    for per_cell in samples.values():
        means = np.array([sample.mean() for sample in per_cell])
        point += _average_ranks_rows(means[None, :])[0]
        boot_means = np.stack(
            [sample[rng.integers(0, sample.size, size=(reps, sample.size))].mean(axis=1)
             for sample in per_cell], axis=1)
        resampled += _average_ranks_rows(boot_means)
    point /= len(samples)
    resampled /= len(samples)
    lows, highs = np.percentile(
        resampled, [50.0 * (1.0 - level), 50.0 * (1.0 + level)], axis=0)
    return {cell: (float(point[index]), float(lows[index]), float(highs[index]))
            for index, cell in enumerate(cells)}
