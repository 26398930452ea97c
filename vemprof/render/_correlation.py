"""Columns of a table against each other, as a figure: one scatter per pair, with the
least-squares line and the correlation's r, p and n (e.g. the S/V of mitochondria
against their distance to the nuclear envelope and to the plasma membrane)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from vemprof.render._figure import check_figure_path, save_png


def correlation_figure(table: pd.DataFrame, correlations: pd.DataFrame, *, out: str | os.PathLike,
                       title: str | None = None) -> Path:
    """Write a PNG with a panel per row of ``correlations`` (from
    `vemprof.spatial.correlate`: ``x``, ``y``, ``n``, ``pearson_r``, ``pearson_p``,
    ``spearman_r``): ``table[y]`` against ``table[x]``, the fitted line, r, p and n."""
    out = check_figure_path(out)
    panels = len(correlations)
    figure, axes = plt.subplots(1, panels, figsize=(3.6 * panels, 3.4), dpi=150, squeeze=False)
    for axis, row in zip(axes[0], correlations.itertuples()):
        pairs = table[[row.x, row.y]].replace([np.inf, -np.inf], np.nan).dropna().to_numpy(float)
        axis.scatter(pairs[:, 0], pairs[:, 1], s=8, alpha=0.6, color="tab:blue")
        if len(pairs) >= 2 and np.ptp(pairs[:, 0]) > 0:
            slope, intercept = np.polyfit(pairs[:, 0], pairs[:, 1], 1)
            ends = np.array([pairs[:, 0].min(), pairs[:, 0].max()])
            axis.plot(ends, slope * ends + intercept, color="tab:red", linewidth=1.5)
        axis.set_xlabel(row.x)
        axis.set_ylabel(row.y)
        axis.set_title(f"Pearson r = {row.pearson_r:.2f}, p = {row.pearson_p:.2g}\nSpearman r = "
                       f"{row.spearman_r:.2f}, n = {row.n}", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_png(figure, out)
