"""Frozen-feature evaluation: the k-NN probe, DAVIS-2017 label propagation and its metrics,
dense correspondence, and the probes a training run evaluates (``mmdense.PROBES``)."""
from .correspondence import CorrespondenceProbe
from .davis_metrics import boundary_f_measure, evaluate_objects, region_similarity, summarise
from .frozen_backbone import FrozenFeatures, build_frozen_resnet, frozen_copy, load_backbone_state
from .knn_probe import KNNProbe
from .label_propagation import CRW, VFS_RESNET, PropagationConfig, propagate_labels
from .label_propagation_probe import LabelPropagationProbe

__all__ = [
    'CorrespondenceProbe', 'boundary_f_measure', 'evaluate_objects', 'region_similarity',
    'summarise', 'FrozenFeatures', 'build_frozen_resnet', 'frozen_copy', 'load_backbone_state',
    'KNNProbe', 'CRW', 'VFS_RESNET', 'PropagationConfig', 'propagate_labels',
    'LabelPropagationProbe'
]
