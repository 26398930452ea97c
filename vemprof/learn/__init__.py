"""Learning: sparse annotations, the feature bank and the pixel classifier (random
forest), the 2D U-Net, model files."""

from vemprof.learn._annotations import annotate_planes, plane_annotations
from vemprof.learn._classify import classify_store, clean_cell_mask, predict_where, train_classifier
from vemprof.learn._features import DEFAULT_KINDS, KINDS, FeatureBank, compute_features, features_dask
from vemprof.learn._export import export_model, import_model
from vemprof.learn._model import ModelDescription, load_model, save_model
from vemprof.learn._rotations import rotated_planes
from vemprof.learn._unet_train import MAX_ITERATIONS, train_unet

__all__ = [
    "DEFAULT_KINDS", "KINDS", "MAX_ITERATIONS", "FeatureBank", "ModelDescription", "annotate_planes", "classify_store",
    "clean_cell_mask", "compute_features", "features_dask", "load_model", "plane_annotations", "predict_where",
    "save_model", "export_model", "import_model", "rotated_planes", "train_classifier", "train_unet",
]
