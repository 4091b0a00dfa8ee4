"""stats: the compare report's numbers, checked against scipy.stats and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats

from actcli.sweep import stats

SAMPLES = [
    [0.012, 0.020, -0.004],
    [0.5, 0.25, 0.75, 1.0, -0.25],
    [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0],
    [-0.01, 0.0, 0.0, 0.02, 0.005, -0.003, 0.011],
]


def test_mean_std_is_the_sample_std():
    assert stats.mean_std([1.0, 2.0, 4.0]) == pytest.approx((7 / 3, math.sqrt(7 / 3)))
    assert stats.mean_std([5.0]) == (5.0, 0.0)


@pytest.mark.parametrize("values", SAMPLES)
def test_confidence_interval_matches_scipy(values):
    mean, low, high = stats.mean_ci(values)
    ci = scipy.stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
    assert mean == pytest.approx(np.mean(values), abs=1e-15)
    assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)


def test_zero_variance_gives_a_zero_width_interval_and_one_value_none():
    assert stats.mean_ci([0.005, 0.005, 0.005]) == pytest.approx((0.005, 0.005, 0.005))
    mean, low, high = stats.mean_ci([0.3])
    assert mean == 0.3 and math.isnan(low) and math.isnan(high)


@pytest.mark.parametrize("values", SAMPLES)
def test_sign_flip_p_matches_scipys_exact_permutation_test(values):
    found = scipy.stats.permutation_test(
        (np.asarray(values),), np.mean, permutation_type="samples", alternative="two-sided",
        n_resamples=np.inf)
    assert stats.sign_flip_p(values) == pytest.approx(found.pvalue, abs=1e-12)


def test_sign_flip_by_hand():
    # three equal differences: only all-plus and all-minus are as extreme: 2 / 8
    assert stats.sign_flip_p([0.005, 0.005, 0.005]) == 0.25
    assert stats.sign_flip_p([0.0, 0.0, 0.0]) == 1.0
    # 1 + 2 + 3 = 6: only all-plus and all-minus reach |6|
    assert stats.sign_flip_p([1.0, 2.0, 3.0]) == 2 / 8
    # 1 - 2 + 3 = 2; the eight sign patterns give 2, -4, 6, 0, 0, -6, 4, -2: six reach |2|
    assert stats.sign_flip_p([1.0, -2.0, 3.0]) == 6 / 8
    assert stats.sign_flip_p([]) == 1.0


def test_sign_flip_at_the_largest_exact_size_matches_scipy():
    # EXACT_UP_TO seeds: the most a compare's report enumerates (2^16 sign patterns per
    # cell; seeds_needed asks for 16 seeds once about a thousand cells are compared)
    values = list(np.random.default_rng(5).normal(0.01, 0.02, size=stats.EXACT_UP_TO))
    exact = scipy.stats.permutation_test(
        (np.asarray(values),), np.mean, permutation_type="samples", n_resamples=np.inf).pvalue
    assert stats.sign_flip_p(values) == pytest.approx(exact, abs=1e-12)
    assert stats.seeds_needed(999, 0.05) == stats.EXACT_UP_TO


def test_sign_flip_beyond_exact_enumeration_is_close_to_exact():
    rng = np.random.default_rng(3)
    values = list(rng.normal(0.2, 1.0, size=18))
    exact = scipy.stats.permutation_test(
        (np.asarray(values),), np.mean, permutation_type="samples", n_resamples=np.inf).pvalue
    assert stats.sign_flip_p(values) == pytest.approx(exact, abs=0.005)
    assert stats.sign_flip_p([0.01] * 20) < 1e-4  # exact: 2 / 2^20


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []


def test_smallest_p_and_seeds_needed():
    assert stats.smallest_p(3) == 0.25 and stats.smallest_p(1) == 1.0
    assert stats.seeds_needed(1, 0.05) == 6  # 2/2^5 = 0.0625, 2/2^6 = 0.03125
    assert stats.seeds_needed(10, 0.05) == 9  # 10 * 2/2^8 = 0.078, 10 * 2/2^9 = 0.039


@pytest.mark.parametrize("df", [1, 2, 4.5, 9, 30])
def test_t_distribution_matches_scipy(df):
    for t in (-5.0, -1.3, 0.0, 0.4, 2.2, 12.0):
        assert stats.t_cdf(t, df) == pytest.approx(scipy.stats.t.cdf(t, df), abs=1e-12)
    for p in (0.025, 0.5, 0.9, 0.975, 0.999):
        assert stats.t_quantile(p, df) == pytest.approx(scipy.stats.t.ppf(p, df), rel=1e-9,
                                                        abs=1e-11)
    with pytest.raises(ValueError):
        stats.t_quantile(1.0, df)


@pytest.mark.parametrize(("a", "b", "x"), [(0.5, 0.5, 0.3), (2.0, 0.5, 0.9), (10, 3, 0.2),
                                           (1.5, 0.5, 0.999), (4, 0.5, 0.0), (4, 0.5, 1.0)])
def test_incomplete_beta_matches_scipy(a, b, x):
    assert stats.betainc(a, b, x) == pytest.approx(scipy.special.betainc(a, b, x), abs=1e-13)
