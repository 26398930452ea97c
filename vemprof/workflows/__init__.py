"""Workflows built on ops, learn, measure and spatial: the nuclear pores
(`find_pockets`: the low-density pockets under the pores by a chain of 3D operations,
``vemprof/workflows/pockets.yaml``)."""

from vemprof.workflows._pockets import POCKETS_CHAIN, find_pockets, pocket_contrast

__all__ = ["POCKETS_CHAIN", "find_pockets", "pocket_contrast"]
