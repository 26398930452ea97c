"""Heavy-metal stain density of each compartment, the quantity the phantom draws.

Dimensionless: 0 is unstained resin; osmium-stained lipid bilayers are the densest. The
back-scatter signal grows with it (membranes bright); the EM display convention shows
it inverted (membranes dark, resin light). Values are chosen so that the rendered
contrasts match enhanced FIB-SEM of HeLa: nucleoplasm about as bright as cytosol,
heterochromatin and nucleoli dark, mitochondrial matrix darker than cytosol with lighter
cristae lumens, pores and the pockets under them lighter than the chromatin around them.
"""

RESIN = 0.0
CYTOSOL = 0.30
#: Relative amplitude of the smooth texture of cytosol.
CYTOSOL_TEXTURE = 0.04
#: Dense granules (ribosomes, their clusters) where the cytosol texture exceeds a
#: threshold (in standard deviations): extra stain per standard deviation above it.
GRANULE_THRESHOLD = 1.3
GRANULE_GAIN = 0.2
NUCLEOPLASM = 0.30
#: Relative amplitude of the mottled texture of euchromatin.
NUCLEOPLASM_TEXTURE = 0.12
HETEROCHROMATIN = 0.72
NUCLEOLUS = 0.80
#: Relative amplitude of the granular texture of nucleoli.
NUCLEOLUS_TEXTURE = 0.15
MEMBRANE = 1.8
PERINUCLEAR_SPACE = 0.20
PORE_COMPLEX = 0.50
PORE_CHANNEL = 0.32
POCKET = 0.18
MITOCHONDRIAL_MATRIX = 0.62
INTERMEMBRANE_SPACE = 0.25
#: Crista membranes are drawn a little lighter than the limiting membranes, so that at
#: 20 nm voxels a crista (two membranes around a light lumen) reads lighter than matrix.
CRISTA_MEMBRANE = 1.2
CRISTA_LUMEN = 0.25
ER_LUMEN = 0.22
VESICLE_LUMEN_RANGE = (0.08, 0.6)
