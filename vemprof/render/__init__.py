"""Colour-coded renders: a label image's objects coloured by a value each (a column of
their table), as a PNG of slices and maximum projections with a colour bar and scale
bars, and as a coloured triangle mesh (PLY, glTF, GLB) for any 3D viewer.

`FeatureColours` maps values to colours once for every view; `render_feature` draws the
figure and `feature_mesh` + `write_mesh` make the mesh, from arrays; `render_labels`
does both for a store's label image and its table (``vemprof render``);
`comparison_figure` draws a column compared between groups with the test's result.
"""

from vemprof.render._colours import NO_VALUE_RGBA, FeatureColours
from vemprof.render._comparison import comparison_figure
from vemprof.render._figure import render_feature, stretched_grey
from vemprof.render._mesh import feature_mesh, write_mesh
from vemprof.render._store import RENDER_VOXELS, Rendering, feature_values, render_labels

__all__ = ["NO_VALUE_RGBA", "RENDER_VOXELS", "FeatureColours", "Rendering", "comparison_figure", "feature_mesh",
           "feature_values", "render_feature", "render_labels", "stretched_grey", "write_mesh"]
