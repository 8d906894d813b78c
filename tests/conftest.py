"""Shared test set-up: every test runs with mmdense's registries and default scope; session
fixtures for a real pre-training checkpoint and the labelled demo data."""
from pathlib import Path

import pytest

from mmdense.apis import main as pretrain_main
from mmdense.datasets.demo.labelled import generate_labelled_demo_data
from mmdense.utils import register_all_modules

register_all_modules()

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def pretrain_checkpoint(tmp_path_factory) -> Path:
    """``tools/train.py`` on the DenseCL R18 demo config, shrunk to 2 iterations."""
    root = tmp_path_factory.mktemp('pretrain')
    work_dir = root / 'work'
    pretrain_main([
        str(REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py'), '--work-dir', str(work_dir),
        '--cfg-options', f'train_dataloader.dataset.data_root={root / "demo"}',
        'train_dataloader.dataset.num_images=4', 'train_dataloader.batch_size=2',
        'model.queue_len=2',  # queue_len <= images - global batch
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


def pytest_collection_modifyitems(items):
    """Run the fresh-machine set-up rehearsal first, so a set-up that a new machine cannot
    complete is reported in the first minutes of CI, not after the whole suite."""
    items.sort(key=lambda item: 0 if 'test_setup_cold_path' in item.nodeid else 1)
