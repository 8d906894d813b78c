"""From a pre-training checkpoint to mmdet/mmseg/mmpretrain: backbone extraction, conversion of
released weights, publishing, the downstream launcher, result collection, and the C4 shared head
the detection protocols use."""
from .backbone_extraction import ENCODERS, extract_backbone, save_backbone
from .benchmark_results import last_evaluation, results_table
from .downstream_train import build_downstream_cfg, downstream_main, run_downstream
from .keep_difficult_boxes import KeepDifficultBoxes
from .linear_seg_head import LinearProbeHead
from .res_layer_extra_norm import ResLayerExtraNorm

__all__ = [
    'ENCODERS', 'extract_backbone', 'save_backbone', 'last_evaluation', 'results_table',
    'build_downstream_cfg', 'downstream_main', 'run_downstream', 'ResLayerExtraNorm',
    'LinearProbeHead', 'KeepDifficultBoxes'
]
