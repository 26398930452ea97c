"""Colour-coded renders: a label image's objects coloured by a value each (a column of
their table), as a PNG of slices and maximum projections with a colour bar and scale
bars, and as a coloured triangle mesh (PLY, glTF, GLB) for any 3D viewer.

`FeatureColours` maps values to colours once for every view; `render_feature` draws the
figure and `feature_mesh` + `write_mesh` make the mesh, from arrays; `render_labels`
does both for a store's label image and its table (``vemprof render``);
`comparison_figure` draws a column compared between groups with the test's result;
`correlation_figure` columns against each other with fitted lines, r, p and n;
`write_preview` a montage of a store's slices with its labels overlaid.
"""

from vemprof.render._colours import NO_VALUE_RGBA, FeatureColours
from vemprof.render._comparison import comparison_figure
from vemprof.render._correlation import correlation_figure
from vemprof.render._figure import render_feature, stretched_grey
from vemprof.render._mesh import feature_mesh, write_mesh
from vemprof.render._preview import write_preview
from vemprof.render._store import RENDER_VOXELS, Rendering, feature_values, render_labels

__all__ = ["NO_VALUE_RGBA", "RENDER_VOXELS", "FeatureColours", "Rendering", "comparison_figure", "correlation_figure",
           "feature_mesh", "feature_values", "render_feature", "render_labels", "stretched_grey", "write_mesh",
           "write_preview"]
