"""Linear classification through mmpretrain: the probe configs are the published protocols,
load every backbone tensor and keep the backbone frozen; one CPU run of the demo config
through tools/benchmarks/mmpretrain/dist_train.sh from a tools/train.py checkpoint."""
import glob
import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm

from mmdense.datasets.demo.classification import generate_classification_data
from mmdense.transfer.backbone_extraction import extract_backbone, save_backbone
from mmdense.transfer.benchmark_results import summarise_work_dir
from mmdense.utils import schedule_mismatches

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / 'configs' / 'benchmarks' / 'mmpretrain').glob('*.py'))
R50 = {c.name: c for c in CONFIGS if c.name.startswith('resnet50')}
DEMO = CONFIGS[0].parent / 'resnet18_linear-steplr_1xb8-5e_demo-in1k.py'


def _backbone_file(tmp_path: Path, depth: int) -> Path:
    """A backbone file as extract_backbone writes it, with random (non-init) values."""
    from mmdet.models.backbones import ResNet
    torch.manual_seed(depth)
    state = {f'backbone.{k}': (torch.randn_like(v.float()) if v.is_floating_point() else v)
             for k, v in ResNet(depth=depth).state_dict().items()}
    out = tmp_path / f'r{depth}.pth'
    save_backbone(extract_backbone({'state_dict': state}), str(out), 'mmdet')
    return out


def _build(config: Path, backbone_file: Path):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(str(config))
    init_default_scope('mmpretrain')
    cfg.model.backbone.init_cfg.checkpoint = str(backbone_file)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_every_shipped_probe_config_is_found():
    assert set(R50) == {'resnet50_linear-steplr_8xb32-100e_in1k.py',
                        'resnet50_linear-lars-coslr_8xb512-90e_in1k.py',
                        'resnet50_linear-coslr_8xb32-100e_in1k.py'}
    assert DEMO in CONFIGS


@pytest.mark.parametrize('name', sorted(R50))
def test_probe_loads_every_tensor_and_freezes_the_backbone(name, tmp_path):
    backbone_file = _backbone_file(tmp_path, 50)
    cfg, model = _build(R50[name], backbone_file)
    expected = torch.load(backbone_file)['state_dict']
    loaded = model.backbone.state_dict()
    assert expected.keys() == loaded.keys()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)
    model.train()
    # Frozen stages 0-4 (stem included) and their BN statistics: nothing in the backbone
    # trains or updates; the linear head is the only trainable part, with no BN before it.
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(not m.training for m in model.backbone.modules() if isinstance(m, _BatchNorm))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'head.fc.weight', 'head.fc.bias'}
    assert cfg.model.neck.type == 'GlobalAveragePooling'
    assert model.head.fc.in_features == 2048 and model.head.fc.out_features == 1000
    assert not any(isinstance(m, _BatchNorm) for m in model.head.modules())
    assert schedule_mismatches(cfg) == []


def test_protocol_settings():
    densecl = Config.fromfile(str(R50['resnet50_linear-steplr_8xb32-100e_in1k.py']))
    optimizer = densecl.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum, optimizer.weight_decay) == \
        ('SGD', 30., 0.9, 0.)
    assert densecl.param_scheduler[0].milestones == [60, 80]
    assert densecl.train_cfg.max_epochs == 100 and densecl.train_dataloader.batch_size == 32
    assert densecl.model.backbone.frozen_stages == 4
    assert densecl.model.backbone.init_cfg.prefix is None
    train_ops = [t['type'] for t in densecl.train_dataloader.dataset.pipeline]
    test_ops = {t['type']: t for t in densecl.val_dataloader.dataset.pipeline}
    assert 'RandomResizedCrop' in train_ops and 'RandomFlip' in train_ops
    assert test_ops['ResizeEdge']['scale'] == 256 and test_ops['CenterCrop']['crop_size'] == 224
    lars = Config.fromfile(str(R50['resnet50_linear-lars-coslr_8xb512-90e_in1k.py']))
    assert (lars.optim_wrapper.optimizer.type, lars.optim_wrapper.optimizer.lr) == ('LARS', 1.6)
    assert lars.train_dataloader.batch_size == 512 and lars.train_cfg.max_epochs == 90
    assert 'T_max' not in lars.param_scheduler[0] and 'end' not in lars.param_scheduler[0]
    barlow = Config.fromfile(str(R50['resnet50_linear-coslr_8xb32-100e_in1k.py']))
    assert (barlow.optim_wrapper.optimizer.lr, barlow.optim_wrapper.optimizer.weight_decay) == \
        (0.3, 1e-6)


def test_linear_probe_runs_on_cpu_from_a_training_checkpoint(pretrain_checkpoint, tmp_path):
    generate_classification_data(str(tmp_path / 'data' / 'demo_labelled'))
    work_dir = tmp_path / 'linear'
    result = subprocess.run(
        ['bash', str(REPO / 'tools' / 'benchmarks' / 'mmpretrain' / 'dist_train.sh'), str(DEMO),
         str(pretrain_checkpoint), '1', '--work-dir', str(work_dir),
         '--cfg-options', 'train_cfg.max_epochs=2', 'param_scheduler.0.milestones=[1]'],
        cwd=tmp_path, capture_output=True, text=True,
        env=dict(os.environ, MASTER_PORT=str(29400 + os.getpid() % 500)))
    assert result.returncode == 0, result.stderr[-3000:]
    scalars = [json.loads(line) for path in glob.glob(str(work_dir / '*/vis_data/scalars.json'))
               for line in open(path)]
    top1 = [s['accuracy/top1'] for s in scalars if 'accuracy/top1' in s]
    assert len(top1) == 1 and 0.0 <= top1[0] <= 100.0
    # The backbone did not move: the final checkpoint holds the extracted weights exactly.
    extracted = torch.load(work_dir / 'pretrain_backbone.pth')['state_dict']
    final = torch.load(work_dir / 'epoch_2.pth', weights_only=False)['state_dict']
    assert all(torch.equal(final[f'backbone.{k}'], v) for k, v in extracted.items())
    assert not torch.equal(final['head.fc.weight'], torch.zeros_like(final['head.fc.weight']))
    row = summarise_work_dir(str(work_dir))
    assert row['task'] == 'cls' and row['top-1'] == f'{top1[0]:.1f}'
    assert row['pretrain'] == str(pretrain_checkpoint)
