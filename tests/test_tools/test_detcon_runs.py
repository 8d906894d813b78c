"""A few Runner iterations of the DetCon demo config: masks generated on first use, checkpoint,
exact resume, backbone extraction. 4 generated images, batch 2, 2 epochs: 4 iterations."""
from pathlib import Path

import pytest
import torch
from demo_run_options import demo_run_options

from mmdense.apis import main
from mmdense.engine.hooks import cosine_momentum
from mmdense.transfer.backbone_extraction import extract_backbone
from mmdense.utils import allow_runner_checkpoint_globals

REPO = Path(__file__).resolve().parents[2]
DETCON = REPO / 'configs' / 'detcon' / 'detcon_r18_demo.py'


def tiny_options(data_root: Path, experiment_name: str) -> list:
    """``--cfg-options`` shrinking the demo config to 4 deterministic iterations."""
    return demo_run_options(
        data_root, experiment_name,
        # The mask loader reads beside the generated images (pipeline step 1).
        f'train_dataloader.dataset.pipeline.1.img_root={data_root / "unlabeled"}',
        'train_dataloader.dataset.indices=4',
        # A quarter-width R18 (res5 = 128 channels), a small projector and predictor.
        'model.backbone.base_channels=16',
        'model.neck.in_channels=128',
        'model.neck.hid_channels=64',
        'model.predictor.hid_channels=64')


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return tmp_path_factory.mktemp('detcon_demo_data')


@pytest.fixture(scope='module')
def detcon_run(tmp_path_factory, demo_root):
    work_dir = tmp_path_factory.mktemp('detcon_straight')
    runner = main([str(DETCON), '--work-dir', str(work_dir),
                   *tiny_options(demo_root, 'detcon_straight')])
    state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    return runner, work_dir, state


def test_detcon_demo_writes_masks_and_trains(detcon_run, demo_root):
    runner, work_dir, state = detcon_run
    masks = sorted((demo_root / 'unlabeled' / 'masks').rglob('*.png'))
    assert len(masks) == 4
    assert (runner.epoch, runner.iter) == (2, 4)
    assert type(runner.optim_wrapper.optimizer).__name__ == 'LARS'
    assert runner.model.momentum == pytest.approx(cosine_momentum(0.996, 3, 4))
    allow_runner_checkpoint_globals()
    ckpt = torch.load(work_dir / 'epoch_2.pth')
    losses = ckpt['message_hub']['log_scalars']['train/loss_detcon'].data[0]
    assert len(losses) == 4 and all(v > 0 for v in losses)
    assert not torch.equal(state['backbone.conv1.weight'], state['momentum_backbone.conv1.weight'])
    assert not any(k.startswith('momentum_predictor') for k in state)


def test_detcon_resume_is_exact(detcon_run, demo_root, tmp_path):
    _, work_dir, final_state = detcon_run
    (tmp_path / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    runner = main([str(DETCON), '--work-dir', str(tmp_path), '--resume',
                   *tiny_options(demo_root, 'detcon_resumed')])
    assert (runner.epoch, runner.iter) == (2, 4)
    state = runner.model.state_dict()
    mismatched = [k for k in state if not torch.equal(state[k], final_state[k])]
    assert not mismatched, f'{len(mismatched)} tensors differ, e.g. {mismatched[:5]}'


def test_detcon_checkpoint_backbone_extracts(detcon_run):
    _, work_dir, state = detcon_run
    allow_runner_checkpoint_globals()
    # The online encoder transfers (the authors release the online network's parameters).
    out = extract_backbone(str(work_dir / 'epoch_2.pth'), encoder='backbone')
    assert out['meta']['depth'] == 18 and out['meta']['base_channels'] == 16
    assert set(out['state_dict']) == {k[len('backbone.'):] for k in state
                                      if k.startswith('backbone.')}
    assert torch.equal(out['state_dict']['layer4.1.conv2.weight'],
                       state['backbone.layer4.1.conv2.weight'])
