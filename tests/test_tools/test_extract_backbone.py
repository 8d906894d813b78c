"""Backbone extraction for transfer (mmdense.transfer.backbone_extraction, model_converters)."""
import os
import pickle
import re
import runpy
import sys

import numpy as np
import pytest
import torch
from mmdet.models.backbones import ResNet
from mmengine.runner import load_checkpoint

from mmdense.models import DenseCL
from mmdense.transfer.backbone_extraction import (extract_backbone, main, save_backbone,
                                                  to_detectron2_key)

TOOL = os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'model_converters',
                    'extract_backbone.py')


@pytest.fixture(scope='module')
def checkpoint():
    """A Runner-like checkpoint of a tiny DenseCL whose two encoders differ."""
    torch.manual_seed(0)
    model = DenseCL(
        backbone=dict(type='mmdet.ResNet', depth=18, base_channels=8, out_indices=(3, ),
                      norm_eval=False, zero_init_residual=False),
        neck=dict(type='DenseCLNeck', in_channels=64, hid_channels=8, out_channels=4),
        loss=dict(type='InfoNCELoss', temperature=0.2),
        queue_len=6, feat_dim=4, momentum=0.99)
    model.init_weights()
    # The key encoder starts as a copy; move it (params and BN stats) so a mix-up shows.
    with torch.no_grad():
        for t in model.momentum_backbone.state_dict().values():
            if t.is_floating_point():
                t.add_(torch.rand_like(t) + 0.5)
    return {
        'meta': {'epoch': 1, 'iter': 4, 'seed': np.int64(0), 'mmengine_version': '0.10.7'},
        'state_dict': {k: v.clone() for k, v in model.state_dict().items()},
        'optimizer': {'state': {}, 'param_groups': [{'lr': 0.03}]},
        'message_hub': {'log_scalars': {}, 'runtime_info': {'iter': 4}},
    }


def _source(ckpt, encoder):
    prefix = encoder + '.'
    return {k[len(prefix):]: v for k, v in ckpt['state_dict'].items() if k.startswith(prefix)}


@pytest.mark.parametrize('encoder', ['backbone', 'momentum_backbone'])
def test_extracts_exactly_the_chosen_encoder(checkpoint, encoder, tmp_path):
    out = extract_backbone(checkpoint, encoder=encoder)
    src = _source(checkpoint, encoder)
    other = _source(checkpoint, 'momentum_backbone' if encoder == 'backbone' else 'backbone')
    assert set(out['state_dict']) == set(src) == set(ResNet(18, base_channels=8).state_dict())
    for k, v in out['state_dict'].items():
        assert torch.equal(v, src[k]), k
    assert not torch.equal(out['state_dict']['conv1.weight'], other['conv1.weight'])
    assert out['meta']['encoder'] == encoder and out['meta']['depth'] == 18

    path = save_backbone(out, str(tmp_path / 'r18.pth'), 'mmdet')
    loaded = torch.load(path)  # weights_only default: only tensors and plain values inside
    assert all(isinstance(v, (str, int)) for v in loaded['meta'].values())
    resnet = ResNet(18, base_channels=8)
    load_checkpoint(resnet, path, strict=True)  # raises on any missing/unexpected key
    for k, v in resnet.state_dict().items():
        assert torch.equal(v, src[k]), k
    assert [p.name for p in tmp_path.iterdir()] == ['r18.pth']  # no temp file left behind


def test_reads_a_checkpoint_file_and_cli_defaults_to_online_encoder(checkpoint, tmp_path,
                                                                    monkeypatch, capsys):
    src_path = tmp_path / 'epoch_1.pth'
    torch.save(checkpoint, src_path)  # meta holds a numpy scalar, like Runner's
    out = tmp_path / 'out' / 'backbone.pth'
    monkeypatch.setattr(sys, 'argv', ['extract_backbone.py', str(src_path), str(out)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(TOOL, run_name='__main__')
    assert done.value.code == 0
    state = torch.load(out)
    src = _source(checkpoint, 'backbone')
    assert state['meta']['source'] == 'epoch_1.pth' and state['meta']['encoder'] == 'backbone'
    assert all(torch.equal(v, src[k]) for k, v in state['state_dict'].items())
    assert 'Saved 120 backbone tensors' in capsys.readouterr().out


def _write_broken(checkpoint, tmp_path, edit):
    ckpt = dict(checkpoint, state_dict=dict(checkpoint['state_dict']))
    edit(ckpt['state_dict'])
    path = tmp_path / 'broken.pth'
    torch.save(ckpt, path)
    return str(path)


@pytest.mark.parametrize('edit, encoder, message', [
    (lambda sd: sd.pop('backbone.layer2.1.conv2.weight'), 'backbone',
     r"missing keys: layer2\.1\.conv2\.weight"),
    (lambda sd: sd.__setitem__('backbone.layer3.0.bn1.weight', torch.ones(7)), 'backbone',
     r'wrong shapes: layer3\.0\.bn1\.weight: \(7,\) != expected \(32,\)'),
    (lambda sd: sd.__setitem__('backbone.fc.weight', torch.ones(2, 64)), 'backbone',
     r'unexpected keys: fc\.weight'),
    (lambda sd: [sd.pop(k) for k in list(sd) if k.startswith('momentum_backbone.')],
     'momentum_backbone', r"No key starts with 'momentum_backbone\.'"),
], ids=['missing-key', 'wrong-shape', 'unexpected-key', 'no-encoder-prefix'])
def test_refuses_mismatched_backbones_and_writes_nothing(checkpoint, tmp_path, edit, encoder,
                                                         message):
    path = _write_broken(checkpoint, tmp_path, edit)
    out = tmp_path / 'out.pth'
    with pytest.raises(ValueError, match=message):
        main([path, str(out), '--encoder', encoder])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['broken.pth']


def test_refuses_wrong_explicit_depth(checkpoint):
    # ResNet-34 has 3/4/6/3 BasicBlocks where ResNet-18 has 2/2/2/2: 80 keys (convs and BN
    # entries) are absent.
    message = r'ResNet-34 .*missing keys: .*layer1\.2\.conv1\.weight.*\(80 in all\)'
    with pytest.raises(ValueError, match=message):
        extract_backbone(checkpoint, depth=34)


def test_detectron2_layout(checkpoint, tmp_path):
    out = tmp_path / 'r18.pkl'
    main([_write_broken(checkpoint, tmp_path, lambda sd: None), str(out), '--format', 'detectron2'])
    with open(out, 'rb') as f:
        d2 = pickle.load(f)
    assert d2['__author__'] == 'mmdense' and d2['matching_heuristics'] is True
    model = d2['model']
    src = _source(checkpoint, 'backbone')
    # ResNet-18: 120 keys, of which 20 BN num_batches_tracked buffers detectron2 has no slot for.
    assert len(model) == 100
    for key in ['stem.conv1.weight', 'stem.conv1.norm.weight', 'stem.conv1.norm.bias',
                'stem.conv1.norm.running_mean', 'stem.conv1.norm.running_var',
                'res2.0.conv1.weight', 'res2.1.conv2.norm.running_var',
                'res3.0.shortcut.weight', 'res3.0.shortcut.norm.bias', 'res5.1.conv2.weight']:
        assert key in model, key
    pattern = re.compile(r'^(stem\.conv1|res[2-5]\.\d+\.(conv[12]|shortcut))(\.norm)?\.'
                         r'(weight|bias|running_mean|running_var)$')
    assert all(pattern.match(k) for k in model), [k for k in model if not pattern.match(k)]
    pairs = {'stem.conv1.weight': 'conv1.weight',
             'stem.conv1.norm.running_mean': 'bn1.running_mean',
             'res3.0.shortcut.weight': 'layer2.0.downsample.0.weight',
             'res3.0.shortcut.norm.running_var': 'layer2.0.downsample.1.running_var',
             'res5.1.conv2.norm.weight': 'layer4.1.bn2.weight'}
    for d2_key, key in pairs.items():
        assert to_detectron2_key(key) == d2_key
    inverse = {to_detectron2_key(k): k for k in src if not k.endswith('num_batches_tracked')}
    assert set(inverse) == set(model)
    for d2_key, arr in model.items():
        assert isinstance(arr, np.ndarray)
        np.testing.assert_array_equal(arr, src[inverse[d2_key]].numpy())
