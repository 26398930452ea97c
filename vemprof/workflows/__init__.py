"""Workflows built on ops, learn, measure and spatial: the nuclear pores
(`find_pockets`: the low-density pockets under the pores by a chain of 3D operations,
``vemprof/workflows/pockets.yaml``; `find_pore_masks`: the pore above each pocket, as
automatic ground truth; `paint_pore_training`, `train_pore_model`, `train_in_rounds`,
`detect_pores`: the 3D-aware pore model trained on those masks, and the pores it finds;
`pore_steps_figure`: the steps in one figure; `distribute_pores`: where the pores lie, by nucleus section;
`score_detection`: detection against true pores, by the pores' orientation)."""

from vemprof.workflows._distribution import distribute_pores
from vemprof.workflows._scoring import ANGLE_BINS, normal_angles, score_detection
from vemprof.workflows._pockets import POCKETS_CHAIN, find_pockets, pocket_contrast
from vemprof.workflows._pore_masks import PORE_RADIUS_NM, find_pore_masks
from vemprof.workflows._pore_model import detect_pores, paint_pore_training, train_in_rounds, train_pore_model
from vemprof.workflows._steps_figure import pore_steps_figure

__all__ = ["ANGLE_BINS", "POCKETS_CHAIN", "PORE_RADIUS_NM", "detect_pores", "distribute_pores", "find_pockets",
           "find_pore_masks", "normal_angles", "paint_pore_training", "pocket_contrast", "pore_steps_figure",
           "score_detection", "train_in_rounds", "train_pore_model"]
