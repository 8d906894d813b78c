"""A few Runner iterations of the SlotCon demo config: checkpoint, exact resume (centre
included), and extraction of the teacher encoder as the default for transfer.

4 generated images, batch 2, 2 epochs: 4 iterations per run.
"""
from pathlib import Path

import pytest
import torch
from demo_run_options import demo_run_options

from mmdense.apis import main
from mmdense.engine.hooks import cosine_momentum
from mmdense.transfer.backbone_extraction import default_encoder, extract_backbone
from mmdense.transfer.backbone_extraction import main as extract_main
from mmdense.utils import allow_runner_checkpoint_globals

REPO = Path(__file__).resolve().parents[2]
SLOTCON = REPO / 'configs' / 'slotcon' / 'slotcon_r18_demo.py'


def tiny_options(data_root: Path, experiment_name: str) -> list:
    """``--cfg-options`` shrinking the demo config to 4 deterministic iterations."""
    return demo_run_options(
        data_root, experiment_name,
        'model.backbone.base_channels=16',  # C5 = 128 channels
        'model.neck.in_channels=128',
        'model.neck.hid_channels=128')


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return tmp_path_factory.mktemp('slotcon_demo_data')


@pytest.fixture(scope='module')
def slotcon_run(tmp_path_factory, demo_root):
    work_dir = tmp_path_factory.mktemp('slotcon_straight')
    runner = main([str(SLOTCON), '--work-dir', str(work_dir),
                   *tiny_options(demo_root, 'slotcon_straight')])
    state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    return runner, work_dir, state


def test_slotcon_trains_with_lars_cosine_momentum_and_centring(slotcon_run):
    runner, work_dir, state = slotcon_run
    assert (runner.epoch, runner.iter) == (2, 4)
    assert type(runner.optim_wrapper.optimizer).__name__ == 'LARS'
    assert runner.model.momentum == pytest.approx(cosine_momentum(0.99, 3, 4))
    allow_runner_checkpoint_globals()
    ckpt = torch.load(work_dir / 'epoch_2.pth')
    for name in ('loss_group', 'loss_slot'):
        losses = ckpt['message_hub']['log_scalars'][f'train/{name}'].data[0]
        assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses))), name
    # The centre is a buffer: 4 EMA steps from zero, saved with the weights.
    assert state['center'].shape == (1, 32) and state['center'].abs().sum() > 0
    assert torch.equal(ckpt['state_dict']['center'], state['center'])
    for prefix in ('backbone.conv1.weight', 'neck.mlp.0.weight', 'grouping.prototypes.weight'):
        assert not torch.equal(state[prefix], state['momentum_' + prefix]), prefix


def test_slotcon_resume_is_exact(slotcon_run, demo_root, tmp_path):
    _, work_dir, final_state = slotcon_run
    (tmp_path / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    runner = main([str(SLOTCON), '--work-dir', str(tmp_path), '--resume',
                   *tiny_options(demo_root, 'slotcon_resumed')])
    assert (runner.epoch, runner.iter) == (2, 4)
    state = runner.model.state_dict()
    assert set(state) == set(final_state)
    mismatched = [k for k in state if not torch.equal(state[k], final_state[k])]
    assert not mismatched, f'{len(mismatched)} tensors differ, e.g. {mismatched[:5]}'


def test_extraction_defaults_to_the_teacher_and_explicit_encoder_wins(slotcon_run, tmp_path,
                                                                      capsys):
    _, work_dir, state = slotcon_run
    path = str(work_dir / 'epoch_2.pth')
    out = extract_backbone(path)
    assert out['meta']['encoder'] == 'momentum_backbone'
    assert 'SlotCon' in out['meta']['encoder_reason']
    teacher = {k[len('momentum_backbone.'):]: v for k, v in state.items()
               if k.startswith('momentum_backbone.')}
    assert set(out['state_dict']) == set(teacher)
    assert all(torch.equal(v, teacher[k]) for k, v in out['state_dict'].items())
    online = extract_backbone(path, encoder='backbone')
    assert online['meta']['encoder'] == 'backbone'
    assert torch.equal(online['state_dict']['conv1.weight'], state['backbone.conv1.weight'])

    extract_main([path, str(tmp_path / 'teacher.pth')])
    printed = capsys.readouterr().out
    assert 'Encoder: momentum_backbone (the default of its algorithm SlotCon' in printed
    assert 'momentum_backbone tensors' in printed
    extract_main([path, str(tmp_path / 'online.pth'), '--encoder', 'backbone'])
    assert 'Encoder: backbone (chosen with --encoder)' in capsys.readouterr().out
    saved = torch.load(tmp_path / 'online.pth')
    assert torch.equal(saved['state_dict']['conv1.weight'], state['backbone.conv1.weight'])


@pytest.mark.parametrize('meta, encoder, reason', [
    ({'cfg': "model = dict(\n    type='DenseCL',\n    queue_len=65536)\n"}, 'backbone',
     'DenseCL'),
    ({'cfg': "model = dict(type='SlotCon', momentum=0.99)\n"}, 'momentum_backbone', 'SlotCon'),
    ({'cfg': "model = dict(type='NotAnAlgorithm')\n"}, 'backbone', 'not an mmdense algorithm'),
    ({'epoch': 1}, 'backbone', 'records no config'),
], ids=['densecl', 'slotcon', 'unknown-type', 'no-config'])
def test_default_encoder_follows_the_recorded_algorithm(meta, encoder, reason):
    got, why = default_encoder({'meta': meta, 'state_dict': {}})
    assert got == encoder and reason in why


def test_a_slotcon_checkpoint_without_config_still_gives_the_teacher():
    state = {'backbone.conv1.weight': torch.zeros(1), 'momentum_backbone.conv1.weight':
             torch.zeros(1), 'momentum_grouping.prototypes.weight': torch.zeros(1)}
    got, why = default_encoder({'meta': {}, 'state_dict': state})
    assert got == 'momentum_backbone' and "SlotCon's" in why
    del state['momentum_grouping.prototypes.weight']
    assert default_encoder({'meta': {}, 'state_dict': state})[0] == 'backbone'
