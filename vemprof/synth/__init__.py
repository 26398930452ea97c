"""Synthetic FIB-SEM volumes of a HeLa-like cell with exact ground truth.

`make_phantom` draws a whole small cell in resin: a spread, irregular cell body under a
plasma membrane; a nucleus split by a cleft into a small, more curved section and a
larger one, wrapped in a double envelope with nuclear pores at a set density per
section and a low-density pocket under each pore; tubular, partly branched mitochondria
with cristae whose thickness grows with distance from the membranes, some touching one
another; a crowded cytosol of uneven density with ER, vesicles, endosomes, lysosomes,
multivesicular bodies, lipid droplets, Golgi stacks and ribosomes; chromatin and
nucleoli; then FIB-SEM image formation (partial volume, blur, Poisson-Gaussian noise,
drift, curtaining, slice jitter). All lengths are physical, so a phantom keeps its size across voxel
sizes. `PhantomField` makes a field of such cells one tile at a time, for volumes larger
than memory. `phantom_montage` renders slices with the ground truth overlaid.
"""

from vemprof.synth._montage import phantom_montage, phantom_zoom
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._phantom import Phantom, make_phantom
from vemprof.synth._tiled import FieldTile, PhantomField, summarise_field

__all__ = [
    "FieldTile", "Phantom", "PhantomField", "PhantomParameters", "make_phantom", "phantom_montage", "phantom_zoom",
    "summarise_field",
]
