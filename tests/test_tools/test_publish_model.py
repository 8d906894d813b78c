"""Publishing a training checkpoint (mmdense.transfer.publish, tools/model_converters)."""
import hashlib
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmdet.models.backbones import ResNet

from mmdense.transfer.publish import hash_in_name, publish_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def training_checkpoint(tmp_path_factory):
    """A file shaped like a Runner checkpoint: online + momentum encoders, a queue,
    optimizer state, and numpy values in meta/message_hub as mmengine writes them."""
    torch.manual_seed(0)
    online = ResNet(18, base_channels=8).state_dict()
    state = {
        **{
            'backbone.' + k: v
            for k, v in online.items()
        },
        **{
            'momentum_backbone.' + k: v + 1 if v.is_floating_point() else v
            for k, v in online.items()
        }, 'neck.mlp.0.weight': torch.randn(16, 64),
        'queue.feats': torch.randn(32, 16),
        'queue.ptr': torch.tensor(8)
    }
    checkpoint = {
        'meta': {
            'cfg': "model = dict(type='DenseCL')\n",
            'epoch': 3,
            'iter': np.int64(24),
            'seed': 0,
            'experiment_name': 'unit',
            'time': '20261123_120000',
            'mmengine_version': '0.10.7',
            'dataset_meta': {}
        },
        'state_dict': state,
        'optimizer': {
            'state': {
                0: {
                    'momentum_buffer': torch.randn(3)
                }
            },
            'param_groups': [{
                'lr': 0.1
            }]
        },
        'message_hub': {
            'runtime_info': {
                'eta': np.float64(1.5)
            }
        },
    }
    path = tmp_path_factory.mktemp('ckpt') / 'epoch_3.pth'
    torch.save(checkpoint, path)
    return str(path), state


def test_publish_keeps_weights_and_plain_meta(training_checkpoint, tmp_path):
    path, state = training_checkpoint
    model_path, backbone_path = publish_checkpoint(path, str(tmp_path / 'densecl_unit'),
                                                   date='20261123')
    assert osp.basename(model_path).startswith('densecl_unit_20261123-')
    assert osp.basename(backbone_path).startswith('densecl_unit_backbone_20261123-')
    for out in (model_path, backbone_path):
        digest = hashlib.sha256(open(out, 'rb').read()).hexdigest()
        assert hash_in_name(out) == digest[:8]
    published = torch.load(model_path, weights_only=True)  # plain values only
    assert set(published) == {'state_dict', 'meta'}
    assert set(published['state_dict']) == set(state)
    for k, v in state.items():
        assert torch.equal(published['state_dict'][k], v), k
    meta = published['meta']
    assert meta['iter'] == 24 and type(meta['iter']) is int
    assert meta['epoch'] == 3 and meta['cfg'].startswith("model = dict(type='DenseCL')")
    assert meta['published'] == '20261123' and meta['torch_version'] and meta['mmdense_version']
    assert 'dataset_meta' not in meta
    backbone = torch.load(backbone_path, weights_only=True)
    model = ResNet(18, base_channels=8)
    model.load_state_dict(backbone['state_dict'], strict=True)  # exactly the mmdet keys
    assert torch.equal(model.conv1.weight, state['backbone.conv1.weight'])
    assert backbone['meta']['source'] == osp.basename(model_path)
    # No temporary file left behind, and the same input gives the same names.
    again = publish_checkpoint(path, str(tmp_path / 'densecl_unit'), date='20261123')
    assert again == (model_path, backbone_path)
    assert sorted(os.listdir(tmp_path)) == sorted(osp.basename(p) for p in again)


def test_publish_momentum_encoder_and_no_backbone(training_checkpoint, tmp_path):
    path, state = training_checkpoint
    _, backbone_path = publish_checkpoint(path, str(tmp_path / 'm'), date='20261123',
                                          encoder='momentum_backbone')
    backbone = torch.load(backbone_path, weights_only=True)['state_dict']
    assert torch.equal(backbone['conv1.weight'], state['momentum_backbone.conv1.weight'])
    model_path, none = publish_checkpoint(path, str(tmp_path / 'n'), date='20261123',
                                          with_backbone=False)
    assert none is None and osp.isfile(model_path)


def test_publish_refuses_bad_input(tmp_path):
    bare = tmp_path / 'bare.pth'
    torch.save({'model': {}}, bare)
    with pytest.raises(ValueError, match="no 'state_dict'"):
        publish_checkpoint(str(bare), str(tmp_path / 'x'))
    with pytest.raises(ValueError, match='YYYYMMDD'):
        publish_checkpoint(str(bare), str(tmp_path / 'x'), date='2026-11-23')
    assert sorted(os.listdir(tmp_path)) == ['bare.pth']


def test_publish_cli(training_checkpoint, tmp_path):
    path, _ = training_checkpoint
    out = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/model_converters/publish_model.py'), path,
        str(tmp_path / 'cli'), '--date', '20260101', '--no-backbone'
    ], capture_output=True, text=True, check=True).stdout
    written = os.listdir(tmp_path)
    assert len(written) == 1 and written[0].startswith('cli_20260101-')
    digest = hashlib.sha256(open(tmp_path / written[0], 'rb').read()).hexdigest()
    assert f'sha256={digest}' in out
