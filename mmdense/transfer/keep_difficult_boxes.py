"""Train on PASCAL VOC's "difficult" objects, as detectron2's VOC loader does.

mmdet's ``XMLDataset`` marks every object with ``<difficult>1</difficult>`` as
``ignore_flag=1`` and ``PackDetInputs`` moves those boxes out of ``gt_instances``, so mmdet's
VOC configs never train on them (they are neither positives nor ignored regions).
detectron2's ``load_voc_instances`` (``data/datasets/pascal_voc.py``), which the MoCo, DenseCL
and PixPro VOC protocols use, keeps them as ordinary training targets. mmdet has no option for
this, hence this transform: placed before ``PackDetInputs`` in a training pipeline, it clears
the flags. Evaluation is unchanged (``VOCMetric`` reads difficult objects from the
annotations and ignores them, as the VOC07 protocol requires).
"""
import numpy as np
from mmcv.transforms import BaseTransform

from mmdense.registry import TRANSFORMS

__all__ = ['KeepDifficultBoxes']


@TRANSFORMS.register_module()
class KeepDifficultBoxes(BaseTransform):
    """Set ``gt_ignore_flags`` to False for every box, so all of them are training targets.

    Only use it where difficult objects are the only reason for the flag (VOC without a
    ``bbox_min_size`` filter, as in our VOC configs).
    """

    def transform(self, results: dict) -> dict:
        flags = results.get('gt_ignore_flags')
        if flags is not None:
            results['gt_ignore_flags'] = np.zeros_like(flags, dtype=bool)
        return results
