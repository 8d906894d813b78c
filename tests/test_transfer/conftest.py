"""Shared fixtures: a real pre-training checkpoint and the labelled demo data."""
from pathlib import Path

import pytest

from mmdense.apis import main as pretrain_main
from mmdense.datasets.demo.labelled import generate_labelled_demo_data

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='session')
def pretrain_checkpoint(tmp_path_factory) -> Path:
    """``tools/train.py`` on the DenseCL R18 demo config, shrunk to 2 iterations."""
    root = tmp_path_factory.mktemp('pretrain')
    work_dir = root / 'work'
    pretrain_main([
        str(REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py'), '--work-dir', str(work_dir),
        '--cfg-options', f'train_dataloader.dataset.data_root={root / "demo"}',
        'train_dataloader.dataset.num_images=4', 'train_dataloader.batch_size=2',
        'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=1', 'experiment_name=transfer_pretrain',
        'visualizer.name=transfer_pretrain'
    ])
    return work_dir / 'epoch_1.pth'


@pytest.fixture(scope='session')
def labelled_root(tmp_path_factory) -> Path:
    """A folder holding ``data/demo_labelled`` (the demo configs' relative data root)."""
    root = tmp_path_factory.mktemp('downstream')
    generate_labelled_demo_data(str(root / 'data' / 'demo_labelled'))
    return root
