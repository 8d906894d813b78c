"""Frozen-feature evaluation: the k-NN probe, DAVIS-2017 label propagation and its metrics."""
from .davis_metrics import boundary_f_measure, evaluate_objects, region_similarity, summarise
from .frozen_backbone import FrozenFeatures, build_frozen_resnet, load_backbone_state
from .label_propagation import CRW, VFS_RESNET, PropagationConfig, propagate_labels

__all__ = [
    'boundary_f_measure', 'evaluate_objects', 'region_similarity', 'summarise', 'FrozenFeatures',
    'build_frozen_resnet', 'load_backbone_state', 'CRW', 'VFS_RESNET', 'PropagationConfig',
    'propagate_labels'
]
