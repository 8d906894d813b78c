"""A device-augmentation config trains through the Runner on the CPU, and ``--resume`` from
its first epoch reproduces the uninterrupted run exactly (the preprocessor's generator state
travels in the checkpoint)."""
import shutil
from pathlib import Path

import pytest
import torch

from mmdense.apis import main
from mmdense.utils import allow_runner_checkpoint_globals

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'densecl' / 'densecl_r18_demo_device-aug.py'


def tiny_options(data_root: Path, name: str) -> list:
    """Two epochs of two iterations on four 64 px demo images, deterministic."""
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.num_images=4', 'train_dataloader.dataset.image_size=64',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'model.queue_len=2',
        'train_cfg.max_epochs=2', 'custom_hooks.0.start_iters=2',
        'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
        'randomness.seed=0', 'randomness.deterministic=True',
        f'experiment_name={name}', f'visualizer.name={name}'
    ]


@pytest.fixture(scope='module')
def straight_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('device_aug')
    work_dir = root / 'straight'
    runner = main([str(CONFIG), '--work-dir', str(work_dir),
                   *tiny_options(root / 'demo', 'device_aug_straight')])
    return root, work_dir, runner


def test_device_aug_config_trains_on_cpu(straight_run):
    _, work_dir, runner = straight_run
    assert (runner.epoch, runner.iter) == (2, 4)
    augment = runner.model.data_preprocessor.photometric
    assert augment is not None and augment.state_dict() == dict(seed=0, step=4)
    scalars = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(scalars) == 4 and all(torch.isfinite(torch.tensor(scalars)))
    # The worker pipeline has no photometric transform left.
    pipeline = runner.cfg.train_dataloader.dataset.pipeline[1].transforms[0]
    assert [t['type'] for t in pipeline] == ['RandomResizedCropWithBox', 'RandomFlipWithBox']


def test_resume_reproduces_the_straight_run(straight_run):
    root, work_dir, runner = straight_run
    final = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    allow_runner_checkpoint_globals()
    halfway = torch.load(work_dir / 'epoch_1.pth')
    assert halfway['rng_state']['photometric'] == dict(seed=0, step=2)

    resumed_dir = root / 'resumed'
    resumed_dir.mkdir()
    shutil.copy(work_dir / 'epoch_1.pth', resumed_dir / 'epoch_1.pth')
    (resumed_dir / 'last_checkpoint').write_text(str(resumed_dir / 'epoch_1.pth'))
    resumed = main([str(CONFIG), '--work-dir', str(resumed_dir), '--resume',
                    *tiny_options(root / 'demo', 'device_aug_resumed')])
    assert (resumed.epoch, resumed.iter) == (2, 4)
    assert resumed.model.data_preprocessor.photometric.step == 4
    state = resumed.model.state_dict()
    assert any(not torch.equal(halfway['state_dict'][k], state[k]) for k in state)
    mismatched = [k for k in state if not torch.equal(state[k], final[k])]
    assert not mismatched, f'{len(mismatched)} tensors differ, e.g. {mismatched[:5]}'
