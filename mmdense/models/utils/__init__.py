from .distributed import batch_shuffle_ddp, batch_unshuffle_ddp, concat_all_gather
from .feature_queue import FeatureQueue
from .momentum import build_momentum_copy, momentum_update
from .pretraining_checks import check_norms_train, check_pretraining_part, norm_layers_in_eval
from .split_batch_norm import SplitBatchNorm2d, convert_to_split_bn
from .view_geometry import (bin_diagonal, cell_centres, cell_distance, check_view_maps,
                            pixel_positive_mask, stack_view_boxes)

__all__ = [
    'concat_all_gather', 'batch_shuffle_ddp', 'batch_unshuffle_ddp', 'FeatureQueue',
    'build_momentum_copy', 'momentum_update', 'SplitBatchNorm2d', 'convert_to_split_bn',
    'check_pretraining_part', 'check_norms_train', 'norm_layers_in_eval', 'stack_view_boxes',
    'check_view_maps', 'cell_centres', 'bin_diagonal', 'cell_distance', 'pixel_positive_mask'
]
