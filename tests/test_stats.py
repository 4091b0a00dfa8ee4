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
