"""The queue-length rule: a MoCo/DenseCL queue may hold at most num_images - global batch
keys, so it never holds keys of the current batch's own images; longer ones are refused
before training with the largest length that fits."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdense.models.utils.feature_queue import FeatureQueue
from mmdense.models.utils.queue_length import check_queue_length, max_queue_len
from mmdense.utils import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_largest_length_that_fits():
    assert max_queue_len(1_281_167, 256) == 1_280_768  # ImageNet: 65536 fits easily
    assert max_queue_len(256, 16) == 240
    assert max_queue_len(170, 32) == 128  # mmpretrain #1541's dataset size, batch 32
    assert max_queue_len(8, 4) == 4
    assert max_queue_len(6, 4) == 2  # less than a batch: no queue fits
    assert max_queue_len(4, 4) == 0


def test_queues_of_a_model_are_checked():
    model = torch.nn.Module()
    model.queue = FeatureQueue(64, 8)
    model.dense_queue = FeatureQueue(64, 8)
    assert check_queue_length(model, 256, 16) == [64]
    assert check_queue_length(model, 80, 16) == [64]  # exactly num_images - batch
    with pytest.raises(ConfigError, match=r'model.queue_len=64 .* 79 training images .* '
                       r'queue_len <= num_images - global batch = 63; set model.queue_len=48'):
        check_queue_length(model, 79, 16)
    with pytest.raises(ConfigError, match='use more images or a smaller batch'):
        check_queue_length(model, 20, 16)
    assert check_queue_length(torch.nn.Linear(2, 2), 4, 4) == []  # no queue, no rule


def test_training_refuses_a_queue_longer_than_the_data(tmp_path):
    """The DenseCL demo config (queue 32) on 4 images: refused before the first iteration."""
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'),
         str(REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py'), '--work-dir',
         str(tmp_path / 'work'), '--cfg-options',
         f'train_dataloader.dataset.data_root={tmp_path / "demo"}',
         'train_dataloader.dataset.num_images=4', 'train_dataloader.batch_size=2',
         'train_dataloader.num_workers=0'],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert ('error: model.queue_len=32 is longer than the 4 training images allow with a '
            'global batch of 2') in proc.stderr
    assert 'set model.queue_len=2' in proc.stderr
    assert not list((tmp_path / 'work').glob('*.pth'))
