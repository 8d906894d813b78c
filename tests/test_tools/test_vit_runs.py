"""The tiny-ViT DenseCL demo through the Runner (AdamW, warm-up + cosine, momentum schedule):
checkpoint, exact resume, extraction; then one CPU fine-tune iteration of each downstream ViT
demo config (mmseg UPerNet, mmdet Mask R-CNN + simple feature pyramid) from that checkpoint.

4 generated images, batch 2, 2 epochs: 4 iterations per run.
"""
import os
from pathlib import Path

import pytest
import torch
from demo_run_options import demo_run_options

from mmdense.apis import main
from mmdense.engine.hooks import cosine_momentum
from mmdense.transfer.backbone_extraction import extract_backbone
from mmdense.transfer.downstream_train import downstream_main
from mmdense.utils import allow_runner_checkpoint_globals

REPO = Path(__file__).resolve().parents[2]
DENSECL_VIT = REPO / 'configs' / 'densecl' / 'densecl_vit-tiny-p8_demo.py'
BENCHMARKS = REPO / 'configs' / 'benchmarks'
DOWNSTREAM = {
    'mmseg': BENCHMARKS / 'mmseg' / 'vit' / 'upernet_vit-tiny-p8_1xb4-20it_demo-ade20k-64x64.py',
    'mmdet': BENCHMARKS / 'mmdet' / 'vit' / 'mask-rcnn_vit-tiny-p8-sfp_1xb2-20it_demo-coco.py',
}


def tiny_options(data_root: Path, experiment_name: str) -> list:
    """``--cfg-options`` shrinking the demo config to 4 deterministic iterations."""
    return demo_run_options(
        data_root, experiment_name,
        'model.queue_len=2')  # queue_len <= images - global batch


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return tmp_path_factory.mktemp('vit_demo_data')


@pytest.fixture(scope='module')
def vit_run(tmp_path_factory, demo_root):
    work_dir = tmp_path_factory.mktemp('densecl_vit_straight')
    runner = main([str(DENSECL_VIT), '--work-dir', str(work_dir),
                   *tiny_options(demo_root, 'densecl_vit_straight')])
    state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    return runner, work_dir, state


def test_vit_demo_trains_with_adamw_and_cosine_momentum(vit_run):
    runner, work_dir, state = vit_run
    assert (runner.epoch, runner.iter) == (2, 4)
    assert type(runner.model.backbone).__name__ == 'VisionTransformer'
    assert type(runner.optim_wrapper.optimizer).__name__ == 'AdamW'
    assert runner.model.momentum == pytest.approx(cosine_momentum(0.99, 3, 4))
    allow_runner_checkpoint_globals()
    ckpt = torch.load(work_dir / 'epoch_2.pth')
    losses = ckpt['message_hub']['log_scalars']['train/loss_single'].data[0]
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    name = 'backbone.patch_embed.projection.weight'
    assert torch.equal(ckpt['state_dict'][name], state[name])
    assert not torch.equal(state[name], state['momentum_' + name])  # trained apart


def test_vit_demo_resume_is_exact(vit_run, demo_root, tmp_path):
    _, work_dir, final_state = vit_run
    (tmp_path / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    runner = main([str(DENSECL_VIT), '--work-dir', str(tmp_path), '--resume',
                   *tiny_options(demo_root, 'densecl_vit_resumed')])
    assert (runner.epoch, runner.iter) == (2, 4)
    state = runner.model.state_dict()
    mismatched = [k for k in state if not torch.equal(state[k], final_state[k])]
    assert not mismatched, f'{len(mismatched)} tensors differ, e.g. {mismatched[:5]}'


def test_vit_demo_checkpoint_extracts_the_online_encoder(vit_run):
    _, work_dir, state = vit_run
    out = extract_backbone(str(work_dir / 'epoch_2.pth'))
    expected = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    assert set(out['state_dict']) == set(expected)
    assert all(torch.equal(out['state_dict'][k], v) for k, v in expected.items())
    assert (out['meta']['arch_embed_dims'], out['meta']['arch_num_layers'],
            out['meta']['arch_patch_size'], out['meta']['arch_img_size']) == (64, 4, 8, 64)


@pytest.mark.parametrize('package', sorted(DOWNSTREAM))
def test_downstream_vit_demo_fine_tunes_one_iteration(package, vit_run, labelled_root, tmp_path):
    _, work_dir, state = vit_run
    pretrained = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    cwd = os.getcwd()
    os.chdir(labelled_root)  # the demo configs' data root is relative, as in the repo
    try:
        runner = downstream_main([
            str(DOWNSTREAM[package]), str(work_dir / 'epoch_2.pth'), '--work-dir', str(tmp_path),
            '--cfg-options', 'train_cfg.max_iters=1', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
            f'experiment_name=vit_{package}', f'visualizer.name=vit_{package}',
            # mmdet's COCO evaluation (and precise BN before it) would take most of the time.
            *(['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
              if package == 'mmdet' else [])])
    finally:
        os.chdir(cwd)
    assert runner.iter == 1
    # The file handed to the backbone's init is the online encoder, key for key.
    written = torch.load(tmp_path / 'pretrain_backbone.pth')['state_dict']
    assert set(written) == set(pretrained)
    assert all(torch.equal(written[k], v) for k, v in pretrained.items())
    # One small AdamW step away from the pre-trained weights (not from a fresh init).
    tuned = runner.model.backbone.state_dict()
    assert set(tuned) == set(pretrained)
    deltas = {k: (tuned[k] - pretrained[k]).abs().max().item() for k in pretrained}
    assert max(deltas.values()) < 1e-3 and any(d > 0 for d in deltas.values())
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
