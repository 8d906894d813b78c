"""VOC "difficult" objects: mmdet's PackDetInputs drops flagged boxes from the training
targets; with mmdense.KeepDifficultBoxes before it (the VOC train pipelines, as detectron2's
VOC loader) they stay targets."""
from pathlib import Path

import numpy as np
from mmdet.datasets.transforms import PackDetInputs
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import Config

from mmdense.transfer.keep_difficult_boxes import KeepDifficultBoxes

VOC_C4 = (Path(__file__).resolve().parents[2] / 'configs' / 'benchmarks' / 'mmdet' /
          'faster-rcnn_r50-c4_syncbn_8xb2-24k_voc0712.py')


def _results():
    return dict(img=np.zeros((32, 32, 3), np.uint8), img_id=0, img_path='x.jpg',
                ori_shape=(32, 32), img_shape=(32, 32), scale_factor=(1., 1.), flip=False,
                flip_direction=None,
                gt_bboxes=HorizontalBoxes(np.array([[1, 1, 9, 9], [2, 2, 20, 20]], np.float32)),
                gt_bboxes_labels=np.array([3, 7]), gt_ignore_flags=np.array([False, True]))


def test_difficult_boxes_stay_training_targets():
    pack = PackDetInputs()
    dropped = pack(_results())['data_samples']
    assert len(dropped.gt_instances) == 1 and len(dropped.ignored_instances) == 1
    kept = pack(KeepDifficultBoxes()(_results()))['data_samples']
    assert len(kept.gt_instances) == 2 and len(kept.ignored_instances) == 0
    assert kept.gt_instances.labels.tolist() == [3, 7]


def test_voc_train_pipelines_keep_them_and_evaluation_does_not():
    cfg = Config.fromfile(str(VOC_C4))
    for dataset in cfg.train_dataloader.dataset.datasets:
        types = [t['type'] for t in dataset.pipeline]
        assert types.index('mmdense.KeepDifficultBoxes') == types.index('PackDetInputs') - 1
    assert all(t['type'] != 'mmdense.KeepDifficultBoxes'
               for t in cfg.test_dataloader.dataset.pipeline)
