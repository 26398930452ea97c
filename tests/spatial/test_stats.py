"""Correlations and group comparisons against scipy and textbook formulas, and bad
requests in one line."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vemprof.errors import VemprofError
from vemprof.spatial import compare, correlate, hedges_g


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    distance = rng.uniform(0, 3, 60)
    sv = 30 - 4 * distance + rng.normal(0, 3, 60)  # S/V falls with the distance
    section = np.where(np.arange(60) % 3 == 0, "one", np.where(np.arange(60) % 3 == 1, "two", "three"))
    sv[section == "two"] += 5
    sv[5] = np.nan  # a missing value is left out
    return pd.DataFrame({"distance_um": distance, "sv_ratio_per_um": sv, "section": section})


def test_a_falling_relation_comes_out_negative_and_significant(table):
    row = correlate(table, "distance_um", "sv_ratio_per_um").iloc[0]
    assert row["n"] == 59
    assert row["pearson_r"] < -0.5 and row["pearson_p"] < 0.01
    assert row["spearman_r"] < -0.5 and row["spearman_p"] < 0.01
    assert row["pearson_ci_low"] < row["pearson_r"] < row["pearson_ci_high"] < 0
    assert row["spearman_ci_low"] < row["spearman_r"] < row["spearman_ci_high"] < 0
    kept = table.dropna()
    assert row["pearson_r"] == pytest.approx(stats.pearsonr(kept["distance_um"], kept["sv_ratio_per_um"]).statistic)


def test_spearmans_interval_is_fishers_z_with_bonett_wrights_error():
    x = np.arange(20.0)
    y = x + np.sin(x) * 4
    row = correlate(pd.DataFrame({"x": x, "y": y}), "x", "y").iloc[0]
    rho, n = row["spearman_r"], 20
    spread = 1.959964 * math.sqrt((1 + rho ** 2 / 2) / (n - 3))
    assert row["spearman_ci_low"] == pytest.approx(math.tanh(math.atanh(rho) - spread), rel=1e-5)
    assert row["spearman_ci_high"] == pytest.approx(math.tanh(math.atanh(rho) + spread), rel=1e-5)


def test_every_pair_of_groups_is_compared_and_corrected(table):
    result = compare(table, "sv_ratio_per_um", "section")
    assert list(zip(result["group_a"], result["group_b"])) == [("one", "three"), ("one", "two"), ("three", "two")]
    pair = result.iloc[1]  # one against two: two is 5 higher
    one = table.loc[table["section"] == "one", "sv_ratio_per_um"].dropna().to_numpy()
    two = table.loc[table["section"] == "two", "sv_ratio_per_um"].dropna().to_numpy()
    assert pair["welch_p"] == pytest.approx(stats.ttest_ind(one, two, equal_var=False).pvalue)
    assert pair["student_p"] == pytest.approx(stats.ttest_ind(one, two).pvalue)
    assert pair["mannwhitney_p"] == pytest.approx(stats.mannwhitneyu(one, two).pvalue)
    assert pair["hedges_g"] < 0  # one's mean is lower
    np.testing.assert_allclose(result["welch_p_bh"], stats.false_discovery_control(result["welch_p"]))
    assert (result["welch_p_bh"] >= result["welch_p"]).all()


def test_hedges_g_by_hand():
    a, b = np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6, 7])
    pooled = math.sqrt((3 * a.var(ddof=1) + 4 * b.var(ddof=1)) / 7)
    assert hedges_g(a, b) == pytest.approx((2.5 - 5) / pooled * (1 - 3 / (4 * 9 - 9)))


@pytest.mark.parametrize("call, message", [
    (lambda t: correlate(t, "distance_um", "nope"), "no column nope in the table"),
    (lambda t: correlate(t.iloc[:3], "distance_um", "sv_ratio_per_um"), "at least 4 rows"),
    (lambda t: correlate(t.assign(flat=1.0), "flat", "distance_um"), "flat is constant"),
    (lambda t: compare(t[t["section"] == "one"], "sv_ratio_per_um", "section"), "1 group"),
    (lambda t: compare(t.iloc[:4], "sv_ratio_per_um", "section"), "fewer than 2 values"),
])
def test_bad_requests_fail_in_one_line(table, call, message):
    with pytest.raises(VemprofError, match=message):
        call(table)
