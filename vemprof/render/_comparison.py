"""A column compared between groups, as a figure: one box per group with its points over it,
and the test's result in the title (e.g. the 8-nearest-neighbour distance of nuclear pores
in the two sections of a nucleus, with Student's and Welch's p)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from vemprof.render._figure import check_figure_path, save_png


def comparison_figure(table: pd.DataFrame, *, column: str, by: str, test: pd.DataFrame, out: str | os.PathLike,
                      title: str | None = None) -> Path:
    """Write a PNG of ``table[column]`` by the groups of ``table[by]``: boxes, every value as
    a point (jittered), n and the mean under each group, and the first row of ``test``
    (from `vemprof.spatial.compare`: Student's and Welch's p, Hedges' g; none: "not
    tested") as a subtitle."""
    out = check_figure_path(out)
    groups = sorted(table[by].dropna().unique())
    values = [table.loc[table[by] == group, column].dropna().to_numpy(float) for group in groups]
    figure, axes = plt.subplots(figsize=(max(1.6 + 1.4 * len(groups), 4.4), 4.2), dpi=150)
    axes.boxplot(values, positions=range(len(groups)), widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)
    for index, group_values in enumerate(values):
        axes.scatter(index + rng.uniform(-0.15, 0.15, len(group_values)), group_values, s=6, alpha=0.5,
                     color="tab:blue")
    axes.set_xticks(range(len(groups)), [f"{by} {group}\nn = {len(v)}, mean {v.mean():.3g}" for group, v in
                                         zip(groups, values)])
    axes.set_ylabel(column)
    if len(test):
        row = test.iloc[0]
        tested = (f"Student p = {row['student_p']:.2g}, Welch p = {row['welch_p']:.2g}, "
                  f"Hedges' g = {row['hedges_g']:.2f}")
    else:
        tested = "not tested: fewer than two groups of 2 or more"
    axes.set_title((title + "\n" if title else "") + tested, fontsize=9)
    figure.tight_layout()
    return save_png(figure, out)
