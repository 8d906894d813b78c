"""A few Runner iterations of the VICRegL demo config (multi-crop): checkpoint, resume,
extract; and the authors' released backbone files through the converter.

4 generated images, batch 2, 2 epochs: 4 iterations per run.
"""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from demo_run_options import demo_run_options
from mmdet.models.backbones import ResNet

from mmdense.apis import main
from mmdense.transfer.backbone_extraction import extract_backbone
from mmdense.transfer.released_weights import convert_and_extract
from mmdense.transfer.released_weights import main as convert_main
from mmdense.utils import allow_runner_checkpoint_globals

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'vicregl' / 'vicregl_r18_demo.py'


def tiny_options(data_root: Path, experiment_name: str) -> list:
    """``--cfg-options`` shrinking the demo config to 4 deterministic iterations."""
    return demo_run_options(
        data_root, experiment_name,
        # A quarter-width R18 (C5 = 128 channels) and small expanders: plumbing, not scale.
        'model.backbone.base_channels=16',
        'model.neck.in_channels=128',
        'model.neck.channels=[64,64,64]',
        'model.maps_neck.in_channels=128',
        'model.maps_neck.channels=[32,32,32]')


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return tmp_path_factory.mktemp('vicregl_demo_data')


@pytest.fixture(scope='module')
def vicregl_run(tmp_path_factory, demo_root):
    work_dir = tmp_path_factory.mktemp('vicregl_straight')
    runner = main([str(DEMO), '--work-dir', str(work_dir),
                   *tiny_options(demo_root, 'vicregl_straight')])
    state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    return runner, work_dir, state


def test_vicregl_trains_both_terms_with_lars(vicregl_run):
    runner, work_dir, state = vicregl_run
    assert (runner.epoch, runner.iter) == (2, 4)
    assert type(runner.optim_wrapper.optimizer).__name__ == 'LARS'
    allow_runner_checkpoint_globals()
    ckpt = torch.load(work_dir / 'epoch_2.pth')
    scalars = ckpt['message_hub']['log_scalars']
    for key in ('train/loss_global', 'train/loss_local', 'train/inv_local', 'train/var_global'):
        values = scalars[key].data[0]
        assert len(values) == 4 and all(v > 0 for v in values), key
    # loss = its two weighted terms (the logged parts are not added again).
    total = scalars['train/loss'].data[0]
    parts = [scalars[f'train/loss_{k}'].data[0] for k in ('global', 'local')]
    assert total == pytest.approx([g + loc for g, loc in zip(*parts)], rel=1e-5)
    assert not any(k.startswith('momentum_') for k in ckpt['state_dict'])
    for name in ('backbone.conv1.weight', 'neck.mlp.0.weight', 'maps_neck.mlp.6.weight'):
        assert torch.equal(ckpt['state_dict'][name], state[name])
    # Trained: the stem moved from the first checkpoint's.
    first = torch.load(work_dir / 'epoch_1.pth')['state_dict']
    assert not torch.equal(first['backbone.conv1.weight'], state['backbone.conv1.weight'])


def test_vicregl_resume_is_exact(vicregl_run, demo_root, tmp_path):
    _, work_dir, final_state = vicregl_run
    (tmp_path / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    runner = main([str(DEMO), '--work-dir', str(tmp_path), '--resume',
                   *tiny_options(demo_root, 'vicregl_resumed')])
    assert (runner.epoch, runner.iter) == (2, 4)
    state = runner.model.state_dict()
    mismatched = [k for k in state if not torch.equal(state[k], final_state[k])]
    assert not mismatched, f'{len(mismatched)} tensors differ, e.g. {mismatched[:5]}'


def test_vicregl_checkpoint_backbone_extracts(vicregl_run):
    _, work_dir, state = vicregl_run
    allow_runner_checkpoint_globals()
    out = extract_backbone(str(work_dir / 'epoch_2.pth'), encoder='backbone')
    assert out['meta']['depth'] == 18 and out['meta']['base_channels'] == 16
    assert set(out['state_dict']) == {k[len('backbone.'):] for k in state
                                      if k.startswith('backbone.')}
    assert torch.equal(out['state_dict']['layer4.1.conv2.weight'],
                       state['backbone.layer4.1.conv2.weight'])


@pytest.fixture(scope='module')
def released_backbone():
    """A state dict in the layout of the authors' `resnet50_alpha0.75.pth` (R18-sized): their
    ResNet's keys are torchvision's (the extra stem padding layer has no parameters, no fc)."""
    torch.manual_seed(0)
    state = {k: v.clone() for k, v in ResNet(18, base_channels=8).state_dict().items()}
    for v in state.values():
        if v.is_floating_point():
            v.copy_(torch.randn_like(v))
    return state


def test_released_backbone_file_converts(released_backbone, tmp_path):
    src = tmp_path / 'resnet50_alpha0.75.pth'
    torch.save(released_backbone, src)
    out_path = tmp_path / 'r18.pth'
    convert_main([str(src), str(out_path), '--source', 'vicregl'])
    allow_runner_checkpoint_globals()
    ckpt = torch.load(out_path)
    assert ckpt['meta']['released_source'] == 'vicregl'
    model = ResNet(18, base_channels=8)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    for key, value in released_backbone.items():
        assert torch.equal(model.state_dict()[key], value), key
    # The full checkpoint keeps `module.backbone.*` of ckpt['model'] only.
    full = {'model': {**{'module.backbone.' + k: v for k, v in released_backbone.items()},
                      'module.projector.0.weight': torch.randn(16, 64),
                      'module.classifier.weight': torch.randn(10, 64)}, 'epoch': 300}
    assert set(convert_and_extract(full, 'vicregl')['state_dict']) == set(released_backbone)


def test_their_extra_stem_padding_computes_what_mmdet_stem_computes(released_backbone):
    """Their ResNet pads by 1 (ConstantPad2d) and then convolves with padding 2; mmdet's conv1
    pads by 3: both zero-pad 3 pixels in all, so converted weights see the same stem."""
    model = ResNet(18, base_channels=8)
    model.load_state_dict(released_backbone)
    x = torch.randn(2, 3, 37, 45)
    theirs = F.conv2d(F.pad(x, (1, 1, 1, 1)), model.conv1.weight, stride=2, padding=2)
    assert model.conv1.padding == (3, 3)
    assert torch.allclose(model.conv1(x), theirs, atol=1e-6, rtol=0)
