"""From a pre-training checkpoint to mmdet/mmseg/mmpretrain: backbone extraction, conversion of
released weights, publishing, the downstream launcher, result collection, and the C4 shared head
the detection protocols use."""
from .backbone_extraction import ENCODERS, extract_backbone, save_backbone
from .benchmark_results import last_evaluation, results_table
from .downstream_train import build_downstream_cfg, downstream_main, run_downstream
from .keep_difficult_boxes import KeepDifficultBoxes
from .res_layer_extra_norm import ResLayerExtraNorm

__all__ = [
    'ENCODERS', 'extract_backbone', 'save_backbone', 'last_evaluation', 'results_table',
    'build_downstream_cfg', 'downstream_main', 'run_downstream', 'ResLayerExtraNorm',
    'KeepDifficultBoxes'
]
# linear_seg_head (mmseg's LinearProbeHead) is not imported here: it imports mmseg (seconds),
# which the training-free probes and converters do not need; the probe configs import it.
