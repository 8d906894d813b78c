"""A few Runner iterations of the PixPro / PixContrast demo configs: checkpoint, resume, extract.

4 generated images, batch 2, 2 epochs: 4 iterations per run.
"""
from pathlib import Path

import pytest
import torch
from demo_run_options import demo_run_options

from mmdense.apis import main
from mmdense.engine.hooks import cosine_momentum
from mmdense.transfer.backbone_extraction import extract_backbone
from mmdense.utils import allow_runner_checkpoint_globals

REPO = Path(__file__).resolve().parents[2]
PIXPRO = REPO / 'configs' / 'pixpro' / 'pixpro_r18_demo.py'
PIXCONTRAST = REPO / 'configs' / 'pixcontrast' / 'pixcontrast_r18_demo.py'


def tiny_options(data_root: Path, experiment_name: str) -> list:
    """``--cfg-options`` shrinking a demo config to 4 deterministic iterations."""
    return demo_run_options(
        data_root, experiment_name,
        # A quarter-width R18 (C5 = 128 channels): the run tests the plumbing, not the scale.
        'model.backbone.base_channels=16',
        'model.neck.in_channels=128',
        'model.neck.hid_channels=128')


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return tmp_path_factory.mktemp('pixpro_demo_data')


@pytest.fixture(scope='module')
def pixpro_run(tmp_path_factory, demo_root):
    work_dir = tmp_path_factory.mktemp('pixpro_straight')
    runner = main([str(PIXPRO), '--work-dir', str(work_dir),
                   *tiny_options(demo_root, 'pixpro_straight')])
    state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    return runner, work_dir, state


def test_pixpro_trains_with_lars_and_cosine_momentum(pixpro_run):
    runner, work_dir, state = pixpro_run
    assert (runner.epoch, runner.iter) == (2, 4)
    assert type(runner.optim_wrapper.optimizer).__name__ == 'LARS'
    # The hook set the momentum of the last iteration (index 3 of 4).
    assert runner.model.momentum == pytest.approx(cosine_momentum(0.99, 3, 4))
    allow_runner_checkpoint_globals()
    ckpt = torch.load(work_dir / 'epoch_2.pth')
    losses = ckpt['message_hub']['log_scalars']['train/loss_pixpro'].data[0]
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    for name in ('backbone.conv1.weight', 'neck.mlp.0.weight', 'ppm.value_transform.weight'):
        assert torch.equal(ckpt['state_dict'][name], state[name])
    # Trained: the online and momentum encoders have drifted apart.
    assert not torch.equal(state['backbone.conv1.weight'], state['momentum_backbone.conv1.weight'])


def test_pixpro_resume_is_exact(pixpro_run, demo_root, tmp_path):
    _, work_dir, final_state = pixpro_run
    (tmp_path / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    runner = main([str(PIXPRO), '--work-dir', str(tmp_path), '--resume',
                   *tiny_options(demo_root, 'pixpro_resumed')])
    assert (runner.epoch, runner.iter) == (2, 4)
    assert runner.model.momentum == pytest.approx(cosine_momentum(0.99, 3, 4))
    state = runner.model.state_dict()
    mismatched = [k for k in state if not torch.equal(state[k], final_state[k])]
    assert not mismatched, f'{len(mismatched)} tensors differ, e.g. {mismatched[:5]}'


def test_pixpro_checkpoint_backbone_extracts(pixpro_run):
    _, work_dir, state = pixpro_run
    allow_runner_checkpoint_globals()
    # PixPro transfers the online encoder (its converter keeps `module.encoder.*`).
    out = extract_backbone(str(work_dir / 'epoch_2.pth'), encoder='backbone')
    assert out['meta']['depth'] == 18 and out['meta']['base_channels'] == 16
    assert set(out['state_dict']) == {k[len('backbone.'):] for k in state
                                      if k.startswith('backbone.')}
    assert torch.equal(out['state_dict']['layer4.1.conv2.weight'],
                       state['backbone.layer4.1.conv2.weight'])


def test_pixcontrast_demo_runs_and_extracts(demo_root, tmp_path):
    runner = main([str(PIXCONTRAST), '--work-dir', str(tmp_path),
                   *tiny_options(demo_root, 'pixcontrast')])
    assert (runner.epoch, runner.iter) == (2, 4)
    assert type(runner.model).__name__ == 'PixContrast'
    allow_runner_checkpoint_globals()
    ckpt = torch.load(tmp_path / 'epoch_2.pth')
    losses = ckpt['message_hub']['log_scalars']['train/loss_pixcontrast'].data[0]
    assert len(losses) == 4 and all(v > 0 for v in losses)
    out = extract_backbone(str(tmp_path / 'epoch_2.pth'), encoder='momentum_backbone')
    assert torch.equal(out['state_dict']['conv1.weight'],
                       ckpt['state_dict']['momentum_backbone.conv1.weight'])
