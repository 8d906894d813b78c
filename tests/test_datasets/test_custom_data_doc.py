"""docs/custom_data.md: its config examples pass the pre-flight and read a real folder."""
import re
from pathlib import Path

import cv2
import numpy as np
from mmengine.config import Config

import mmdense  # noqa: F401  (registers the `mmdense::` config scope)
from mmdense.registry import DATASETS
from mmdense.utils import check_train_cfg

DOC = Path(__file__).resolve().parents[2] / 'docs' / 'custom_data.md'


def _examples():
    blocks = re.findall(r'```python\n(.*?)```', DOC.read_text(), re.S)
    return [b for b in blocks if b.lstrip().startswith('# my_densecl.py') or '_base_' in b]


def test_doc_examples_build_datasets_over_a_plain_folder(tmp_path):
    photos = tmp_path / 'photos' / 'holiday'
    photos.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(photos / f'{i}.jpg'), np.full((40, 40, 3), 60 * i, np.uint8))
    examples = _examples()
    assert len(examples) == 2
    for i, text in enumerate(examples):
        path = tmp_path / f'example{i}.py'
        path.write_text(text.replace('/data/my_photos', str(tmp_path / 'photos')))
        cfg = Config.fromfile(path)
        check_train_cfg(cfg, accelerator_available=True, world_size=1)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        assert len(dataset) == 3
        assert dataset[0]['inputs'][0].shape[0] == 3  # two augmented views, packed
