"""Statistics on object tables: correlation of two columns, and a column compared between groups.

`correlate` gives Pearson's and Spearman's r with their two-tailed p, the number of
pairs and a 95 % confidence interval: Pearson's from Fisher's z (as
``scipy.stats.pearsonr(...).confidence_interval()``), Spearman's from Fisher's z with
Bonett and Wright's standard error ``√((1 + r²/2) / (n − 3))``. `compare` tests every
pair of groups of a column: two-tailed Student's and Welch's t-tests, the Mann–Whitney
U test, the effect size Hedges' g (Cohen's d on the pooled standard deviation, times
``1 − 3 / (4 (n_a + n_b) − 9)``), and, when several pairs are tested, each p corrected
by Benjamini and Hochberg across the pairs (``*_p_bh``). Rows with a missing value in
the columns used are left out (counted in ``n``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats

from vemprof.errors import VemprofError

CONFIDENCE = 0.95


def correlate(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Pearson and Spearman correlation of columns ``x`` and ``y``: one row with ``x``,
    ``y``, ``n``, ``pearson_r``, ``pearson_p``, ``pearson_ci_low``, ``pearson_ci_high``,
    ``spearman_r``, ``spearman_p``, ``spearman_ci_low``, ``spearman_ci_high``."""
    pairs = _columns(table, [x, y]).dropna()
    n = len(pairs)
    if n < 4:
        raise VemprofError(f"a correlation needs at least 4 rows with both {x} and {y}, got {n}; "
                           "measure more objects")
    if pairs[x].nunique() < 2 or pairs[y].nunique() < 2:
        raise VemprofError(f"{x if pairs[x].nunique() < 2 else y} is constant over the {n} rows; "
                           "a correlation needs it to vary")
    pearson = stats.pearsonr(pairs[x], pairs[y])
    low, high = pearson.confidence_interval(confidence_level=CONFIDENCE)
    spearman = stats.spearmanr(pairs[x], pairs[y])
    rho = float(spearman.statistic)
    spread = stats.norm.ppf((1 + CONFIDENCE) / 2) * math.sqrt((1 + rho * rho / 2) / (n - 3))
    centre = math.atanh(min(max(rho, -0.999999), 0.999999))
    return pd.DataFrame([{
        "x": x, "y": y, "n": n,
        "pearson_r": float(pearson.statistic), "pearson_p": float(pearson.pvalue),
        "pearson_ci_low": float(low), "pearson_ci_high": float(high),
        "spearman_r": rho, "spearman_p": float(spearman.pvalue),
        "spearman_ci_low": math.tanh(centre - spread), "spearman_ci_high": math.tanh(centre + spread),
    }])


#: The columns of `compare`'s table, in order.
COMPARISON_COLUMNS = ("group_a", "group_b", "n_a", "n_b", "mean_a", "mean_b", "student_t", "student_p", "welch_t",
                      "welch_p", "mannwhitney_u", "mannwhitney_p", "hedges_g", "student_p_bh", "welch_p_bh",
                      "mannwhitney_p_bh")


def compare(table: pd.DataFrame, column: str, by: str) -> pd.DataFrame:
    """``column`` compared between every pair of the groups of ``by``: one row per pair
    with ``group_a``, ``group_b``, ``n_a``, ``n_b``, ``mean_a``, ``mean_b``,
    ``student_t``, ``student_p``, ``welch_t``, ``welch_p``, ``mannwhitney_u``,
    ``mannwhitney_p``, ``hedges_g`` (positive when a's mean is larger) and the three p
    values corrected by Benjamini–Hochberg across the pairs (``*_p_bh``)."""
    values = _columns(table, [column, by]).dropna()
    groups = {key: group[column].to_numpy(float) for key, group in values.groupby(by, sort=True)}
    if len(groups) < 2:
        raise VemprofError(f"{by} has {len(groups)} group(s) with values of {column}; a comparison needs two or more")
    small = [str(key) for key, group in groups.items() if len(group) < 2]
    if small:
        raise VemprofError(f"group(s) {', '.join(small)} of {by} have fewer than 2 values of {column}; "
                           "a t-test needs at least 2 in each")
    rows = []
    for (name_a, a), (name_b, b) in itertools.combinations(groups.items(), 2):
        student = stats.ttest_ind(a, b, equal_var=True)
        welch = stats.ttest_ind(a, b, equal_var=False)
        mann_whitney = stats.mannwhitneyu(a, b, alternative="two-sided")
        rows.append({"group_a": name_a, "group_b": name_b, "n_a": len(a), "n_b": len(b),
                     "mean_a": a.mean(), "mean_b": b.mean(),
                     "student_t": float(student.statistic), "student_p": float(student.pvalue),
                     "welch_t": float(welch.statistic), "welch_p": float(welch.pvalue),
                     "mannwhitney_u": float(mann_whitney.statistic), "mannwhitney_p": float(mann_whitney.pvalue),
                     "hedges_g": hedges_g(a, b)})
    result = pd.DataFrame(rows)
    for test in ("student", "welch", "mannwhitney"):
        result[f"{test}_p_bh"] = stats.false_discovery_control(result[f"{test}_p"].to_numpy())
    return result[list(COMPARISON_COLUMNS)]


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    """Hedges' g of ``a`` against ``b``: the difference of means over the pooled standard
    deviation, corrected for small samples."""
    n_a, n_b = len(a), len(b)
    pooled = math.sqrt(((n_a - 1) * a.var(ddof=1) + (n_b - 1) * b.var(ddof=1)) / (n_a + n_b - 2))
    if pooled == 0:
        return math.nan
    return (a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (n_a + n_b) - 9))


def _columns(table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    missing = [name for name in names if name not in table.columns]
    if missing:
        raise VemprofError(f"no column {', '.join(missing)} in the table; it has: {', '.join(map(str, table.columns))}")
    return table[names]
