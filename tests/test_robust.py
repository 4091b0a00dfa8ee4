"""robust: IQM, bootstrap intervals, probability of improvement and ranks, checked against
scipy.stats and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from actcli.sweep import robust

# small integers as floats: ties are common, which is where ranks and U statistics go wrong
TIED = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=12)
FLOATS = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30)
FEW = settings(max_examples=60, deadline=None)

# Monte-Carlo tolerance of a bootstrap endpoint. With B resamples the p-quantile of the
# bootstrap distribution has standard error sqrt(p (1 - p) / B) / f(q_p); for a roughly
# normal distribution of standard deviation sd at p = 0.025, f(q_p) = 0.0584 / sd, so at
# B = 20000 the error is 0.019 sd, and the difference of two independent runs (ours and
# scipy's, different generators) has standard deviation 0.027 sd. 0.15 sd is about 5.5 of
# those: a correct implementation passes with any seeds, while a wrong level, a missed
# resample or a mixed-up stratum moves an endpoint by far more.
REPS = 20000
MC_TOLERANCE = 0.15


def scipy_iqm(*samples, axis=-1):
    return scipy.stats.trim_mean(np.concatenate(samples, axis=-1), 0.25, axis=axis)


def test_iqm_by_hand():
    assert robust.iqm([1.0, 2.0, 3.0, 4.0]) == 2.5  # int(0.25 * 4) = 1 cut: mean of 2, 3
    assert robust.iqm([4.0, 1.0, 100.0, 3.0, 2.0]) == 3.0  # 1 cut each end: mean of 2, 3, 4
    # sorted -50, 1, 2, 3, 4, 7, 8, 100: 2 cut each end, mean of 2, 3, 4, 7 = 16 / 4
    assert robust.iqm([1.0, 2.0, 3.0, 4.0, 100.0, -50.0, 7.0, 8.0]) == 4.0
    # up to three values nothing is cut: the plain mean
    assert robust.iqm([5.0]) == 5.0
    assert robust.iqm([1.0, 2.0]) == 1.5
    assert robust.iqm([1.0, 2.0, 9.0]) == 4.0


def test_iqm_rejects_empty_and_nan():
    with pytest.raises(ValueError, match="empty"):
        robust.iqm([])
    with pytest.raises(ValueError, match="NaN"):
        robust.iqm([1.0, float("nan")])


@FEW
@given(FLOATS)
def test_iqm_matches_scipy_trim_mean(values):
    # same values averaged, summed in a different order: rounding only
    assert robust.iqm(values) == pytest.approx(
        scipy.stats.trim_mean(values, 0.25), rel=1e-9, abs=1e-6)


def test_probability_of_improvement_by_hand():
    # [1, 2] vs [2, 3]: pairs (1,2) <, (1,3) <, (2,2) tie, (2,3) <: 0.5 * 1 / 4 = 0.125
    assert robust.probability_of_improvement([1.0, 2.0], [2.0, 3.0]) == 0.125
    assert robust.probability_of_improvement([2.0, 3.0], [1.0, 2.0]) == 0.875
    # [1, 2, 3] vs [2]: (1,2) <, (2,2) tie, (3,2) >: (1 + 0.5) / 3 = 0.5
    assert robust.probability_of_improvement([1.0, 2.0, 3.0], [2.0]) == 0.5
    assert robust.probability_of_improvement([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert robust.probability_of_improvement([0.7, 0.7], [0.7, 0.7, 0.7]) == 0.5
    with pytest.raises(ValueError, match="y is empty"):
        robust.probability_of_improvement([1.0], [])


@FEW
@given(TIED, TIED)
def test_probability_of_improvement_matches_mann_whitney_u(x, y):
    u = scipy.stats.mannwhitneyu(x, y, alternative="greater").statistic
    found = robust.probability_of_improvement(x, y)
    assert found == pytest.approx(u / (len(x) * len(y)), abs=1e-12)
    assert robust.probability_of_improvement(y, x) == pytest.approx(1.0 - found, abs=1e-12)


def test_average_ranks_by_hand():
    assert robust.average_ranks([10.0, 20.0, 30.0]) == [3.0, 2.0, 1.0]
    assert robust.average_ranks([3.0, 1.0, 3.0]) == [1.5, 3.0, 1.5]  # ranks 1 and 2 shared
    assert robust.average_ranks([7.0, 7.0, 7.0, 7.0]) == [2.5] * 4  # (1 + 2 + 3 + 4) / 4
    # 5 > 4 = 4 = 4 > 1: ranks 1, then (2 + 3 + 4) / 3 = 3 shared, then 5
    assert robust.average_ranks([4.0, 1.0, 5.0, 4.0, 4.0]) == [3.0, 5.0, 1.0, 3.0, 3.0]
    assert robust.average_ranks([-2.5]) == [1.0]


@FEW
@given(st.one_of(TIED, FLOATS))
def test_average_ranks_match_scipy_rankdata_of_the_negated_values(values):
    expected = scipy.stats.rankdata(-np.asarray(values), method="average")
    assert robust.average_ranks(values) == pytest.approx(list(expected), abs=1e-12)


def test_normalised_maps_the_worst_cell_to_zero_and_the_best_to_one():
    means = {"slow": 2.0, "fast": 6.0}
    # (v - 2) / (6 - 2)
    assert robust.normalised(means, [2.0, 6.0, 4.0, 8.0, 0.0]) == [0.0, 1.0, 0.5, 1.5, -0.5]
    three = {"a": -1.0, "b": 0.0, "c": 3.0}
    assert robust.normalised(three, [-1.0, 0.0, 3.0]) == [0.0, 0.25, 1.0]


def test_normalised_with_all_cells_equal_gives_one():
    assert robust.normalised({"a": 0.3, "b": 0.3}, [0.3, 0.1, 5.0]) == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="empty"):
        robust.normalised({}, [1.0])


SAMPLE = [0.62, 0.71, 0.55, 0.90, 0.68, 0.74, 0.31, 0.66, 0.70, 0.81, 0.59, 0.77]


@pytest.mark.parametrize(
    ("statistic", "reference"),
    [(robust.iqm, scipy_iqm), (np.mean, np.mean), (np.median, np.median)],
    ids=["iqm", "mean", "median"])
def test_bootstrap_interval_matches_scipy_percentile_bootstrap(statistic, reference):
    found = robust.bootstrap_interval(SAMPLE, statistic, reps=REPS, seed=1)
    expected = scipy.stats.bootstrap(
        (np.asarray(SAMPLE),), reference, n_resamples=REPS, method="percentile",
        vectorized=True, rng=np.random.default_rng(2))
    spread = float(np.std(expected.bootstrap_distribution))
    ci = expected.confidence_interval
    assert found == pytest.approx((ci.low, ci.high), abs=MC_TOLERANCE * spread)
    # the tolerance is small against the interval: a test that can fail
    assert MC_TOLERANCE * spread < 0.1 * (ci.high - ci.low)


def test_bootstrap_interval_level_narrows_the_interval():
    wide = robust.bootstrap_interval(SAMPLE, level=0.95)
    narrow = robust.bootstrap_interval(SAMPLE, level=0.5)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_bootstrap_interval_is_deterministic_per_seed():
    first = robust.bootstrap_interval(SAMPLE, seed=7)
    assert robust.bootstrap_interval(SAMPLE, seed=7) == first
    assert robust.bootstrap_interval(SAMPLE, seed=8) != first


def test_bootstrap_interval_contains_the_point_estimate():
    low, high = robust.bootstrap_interval(SAMPLE)
    assert low < robust.iqm(SAMPLE) < high
    low, high = robust.bootstrap_interval(SAMPLE, np.mean)
    assert low < float(np.mean(SAMPLE)) < high


def test_bootstrap_interval_of_one_value_is_that_value():
    assert robust.bootstrap_interval([0.37]) == (0.37, 0.37)
    assert robust.bootstrap_interval([0.37], np.mean, reps=5, seed=3) == (0.37, 0.37)


def test_bootstrap_interval_of_equal_values_has_zero_width():
    assert robust.bootstrap_interval([2.0, 2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_bootstrap_rejects_bad_arguments():
    with pytest.raises(ValueError, match="reps"):
        robust.bootstrap_interval(SAMPLE, reps=0)
    with pytest.raises(ValueError, match="level"):
        robust.bootstrap_interval(SAMPLE, level=1.0)
    with pytest.raises(ValueError, match="empty"):
        robust.bootstrap_interval([])


def test_stratified_bootstrap_never_mixes_groups():
    # any resample that drew across groups would give a mean other than 0.5
    groups = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    assert robust.stratified_bootstrap_interval(groups, np.mean) == (0.5, 0.5)
    # iqm of the six: sorted 0, 0, 0, 1, 1, 1, one cut each end: mean of 0, 0, 1, 1
    assert robust.stratified_bootstrap_interval(groups) == (0.5, 0.5)

    def groups_kept_apart(resample):
        # the resampled first group comes first, then the second: each from its own values
        return float(set(resample[:2]) <= {0.0, 1.0} and set(resample[2:]) <= {10.0, 11.0})

    interval = robust.stratified_bootstrap_interval(
        [[0.0, 1.0], [10.0, 11.0, 11.0]], groups_kept_apart, reps=300)
    assert interval == (1.0, 1.0)


def test_stratified_bootstrap_of_one_group_is_the_plain_bootstrap():
    assert robust.stratified_bootstrap_interval([SAMPLE], seed=4) == robust.bootstrap_interval(
        SAMPLE, seed=4)


def test_stratified_bootstrap_matches_scipy_independent_resampling():
    # scipy.stats.bootstrap resamples several samples each within itself (paired=False):
    # the same stratified scheme
    groups = [[0.62, 0.71, 0.55, 0.90], [0.31, 0.36, 0.20], [0.95, 0.80, 0.99, 0.88, 0.97]]
    found = robust.stratified_bootstrap_interval(groups, reps=REPS, seed=5)
    expected = scipy.stats.bootstrap(
        tuple(np.asarray(g) for g in groups), scipy_iqm, n_resamples=REPS,
        method="percentile", vectorized=True, rng=np.random.default_rng(6))
    spread = float(np.std(expected.bootstrap_distribution))
    ci = expected.confidence_interval
    assert found == pytest.approx((ci.low, ci.high), abs=MC_TOLERANCE * spread)
    # a plain bootstrap of the pooled values resamples the group sizes too: wider
    pooled = robust.bootstrap_interval([v for g in groups for v in g], reps=REPS, seed=5)
    assert pooled[1] - pooled[0] > found[1] - found[0] + 2 * MC_TOLERANCE * spread


def test_stratified_bootstrap_is_deterministic_and_rejects_empty_groups():
    groups = [[1.0, 2.0, 3.0], [4.0, 6.0]]
    assert robust.stratified_bootstrap_interval(groups, seed=9) == (
        robust.stratified_bootstrap_interval(groups, seed=9))
    with pytest.raises(ValueError, match="group 1 is empty"):
        robust.stratified_bootstrap_interval([[1.0], []])
    with pytest.raises(ValueError, match="empty"):
        robust.stratified_bootstrap_interval([])


def test_mean_rank_by_hand():
    scores = {
        # means a 2, b 4, c 0: ranks b 1, a 2, c 3
        "rice": {"a": [1.0, 3.0], "b": [4.0], "c": [0.0, 0.0]},
        # means a 5, b 5, c 6: c 1, a and b share (2 + 3) / 2 = 2.5
        "beans": {"a": [5.0], "b": [5.0], "c": [6.0]},
    }
    # a (2 + 2.5) / 2 = 2.25, b (1 + 2.5) / 2 = 1.75, c (3 + 1) / 2 = 2. No resample of a's
    # [1, 3] (means 1, 2 or 3) crosses b's 4 or c's 0, so every resample ranks the same
    # and the intervals have zero width
    assert robust.mean_rank_intervals(scores) == {
        "a": (2.25, 2.25, 2.25), "b": (1.75, 1.75, 1.75), "c": (2.0, 2.0, 2.0)}


def test_mean_rank_of_a_missing_cell_names_cell_and_task():
    scores = {"rice": {"a": [1.0], "b": [2.0]}, "beans": {"a": [1.0]}}
    with pytest.raises(ValueError, match=r"'b'.*'beans'"):
        robust.mean_rank_intervals(scores)
    with pytest.raises(ValueError, match=r"'a'.*'rice'"):
        robust.mean_rank_intervals({"rice": {"a": []}})


MEAN_RANK_SCORES = {
    "rice": {"a": [0.80, 0.70, 0.90, 0.75], "b": [0.78, 0.82, 0.60, 0.85],
             "c": [0.50, 0.55, 0.65, 0.52]},
    "beans": {"a": [0.40, 0.35, 0.42, 0.38], "b": [0.45, 0.50, 0.30, 0.44],
              "c": [0.41, 0.39, 0.48, 0.20]},
    "lentils": {"a": [1.0, 1.2, 0.9, 1.1], "b": [0.7, 0.8, 0.9, 1.3],
                "c": [1.1, 1.0, 1.15, 1.05]},
}


def test_mean_rank_point_estimate_matches_scipy_rankdata():
    found = robust.mean_rank_intervals(MEAN_RANK_SCORES, reps=10)
    cells = ["a", "b", "c"]
    ranks = [scipy.stats.rankdata([-np.mean(by_cell[c]) for c in cells])
             for by_cell in MEAN_RANK_SCORES.values()]
    expected = np.mean(ranks, axis=0)
    assert list(found) == cells
    assert [found[c][0] for c in cells] == pytest.approx(list(expected), abs=1e-12)
    assert sum(found[c][0] for c in cells) == pytest.approx(6.0)  # ranks 1 + 2 + 3 per task


@pytest.mark.parametrize("index", [0, 1, 2], ids=["a", "b", "c"])
def test_mean_rank_interval_matches_a_scipy_stratified_bootstrap(index):
    cells = ["a", "b", "c"]
    samples = tuple(np.asarray(by_cell[c]) for by_cell in MEAN_RANK_SCORES.values()
                    for c in cells)

    def mean_rank(*resampled, axis=-1):
        means = np.stack([s.mean(axis=axis) for s in resampled], axis=-1)
        means = means.reshape(*means.shape[:-1], len(MEAN_RANK_SCORES), len(cells))
        ranks = scipy.stats.rankdata(-means, method="average", axis=-1)
        return ranks.mean(axis=-2)[..., index]

    expected = scipy.stats.bootstrap(
        samples, mean_rank, n_resamples=REPS, method="percentile", vectorized=True,
        rng=np.random.default_rng(8))
    point, low, high = robust.mean_rank_intervals(MEAN_RANK_SCORES, reps=REPS, seed=7)[
        cells[index]]
    assert point == pytest.approx(float(mean_rank(*samples)), abs=1e-12)
    assert low <= point <= high
    # mean ranks over 3 tasks lie on a lattice of steps 1 / 6: a percentile near a jump of the
    # bootstrap distribution may land on the neighbouring lattice value, so one step on top of
    # the Monte-Carlo tolerance above
    spread = float(np.std(expected.bootstrap_distribution))
    ci = expected.confidence_interval
    assert (low, high) == pytest.approx((ci.low, ci.high), abs=MC_TOLERANCE * spread + 1 / 6)
    assert high - low > 2 * (MC_TOLERANCE * spread + 1 / 6)
