"""Frozen dense probes (linear probe, frozen FCN) and the VOC 2012 test-submission path.

The head is checked against a hand composition of its layers; the shipped configs are built
by mmseg and checked for what "frozen" means (no backbone gradient, BN statistics fixed in
train mode) and for loading every backbone tensor; one CPU run of the linear-probe demo goes
through tools/benchmarks/mmseg/dist_train.sh from a tools/train.py checkpoint, then its
checkpoint through tools/benchmarks/test.py with the demo test-submission config and
tools/benchmarks/mmseg/voc_submission.py on the tiny VOC data.
"""
import json
import os
import runpy
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from PIL import Image
from torch.nn.modules.batchnorm import _BatchNorm

from mmdense.datasets.demo.labelled import generate_labelled_demo_data
from mmdense.transfer.backbone_extraction import extract_backbone, save_backbone
from mmdense.transfer.downstream_test import downstream_test_main, set_format_only_output_dir
from mmdense.transfer.downstream_train import build_downstream_cfg, set_pretrained
from mmdense.transfer.linear_seg_head import LinearProbeHead
from mmdense.transfer.voc_submission import (SubmissionError, make_voc_submission, read_prediction,
                                             voc_palette)
from mmdense.utils import ConfigError

REPO = Path(__file__).resolve().parents[2]
MMSEG = REPO / 'configs' / 'benchmarks' / 'mmseg'
LINEAR = MMSEG / 'linear_r50-d8_4xb4-40k_voc12aug-512x512.py'
FROZEN_FCN = MMSEG / 'fcn_r50-d8_frozen_4xb4-20k_voc12aug-512x512.py'
FCN_VOC = MMSEG / 'fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512.py'
VOC_TEST = MMSEG / 'fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512_voc12test.py'
LINEAR_DEMO = MMSEG / 'linear_r18-d8_1xb4-20it_demo-voc12aug-64x64.py'
FROZEN_FCN_DEMO = MMSEG / 'fcn_r18-d8_frozen_1xb4-20it_demo-voc12aug-64x64.py'
VOC_TEST_DEMO = MMSEG / 'linear_r18-d8_1xb4-20it_demo-voc12aug-64x64_voc12test.py'
PROBES = [LINEAR, FROZEN_FCN]
DEMO_PROBES = [LINEAR_DEMO, FROZEN_FCN_DEMO]


def _randomise(module: torch.nn.Module) -> None:
    """Give every float tensor (BN statistics too) values no init would produce."""
    for value in module.state_dict().values():
        if value.is_floating_point():
            value.copy_(torch.rand_like(value) + 0.5)


def plain(node):
    """A config value without the ``_scope_`` keys MMEngine adds to ``pkg::`` bases."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(plain(v) for v in node)
    return node


def build(cfg: Config) -> torch.nn.Module:
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


# --- the head -------------------------------------------------------------------------------

def _head() -> LinearProbeHead:
    torch.manual_seed(0)
    # mmseg's own scope, as when a config builds it (BaseDecodeHead builds its loss there).
    with DefaultScope.overwrite_default_scope('mmseg'):
        head = LinearProbeHead(in_channels=8, in_index=3, num_classes=5, dropout_ratio=0.5,
                               norm_cfg=dict(type='BN', requires_grad=True))
    _randomise(head)
    return head


def test_head_is_norm_then_dropout_then_1x1_conv():
    head = _head()
    assert {n for n, _ in head.named_parameters()} == {
        'bn.weight', 'bn.bias', 'conv_seg.weight', 'conv_seg.bias'}
    assert isinstance(head.norm, torch.nn.BatchNorm2d) and head.norm.num_features == 8
    assert head.conv_seg.kernel_size == (1, 1) and head.conv_seg.out_channels == 5
    torch.manual_seed(1)
    inputs = [torch.randn(2, c, 6, 7) for c in (3, 4, 6)] + [torch.randn(2, 8, 6, 7)]
    x, bn, conv = inputs[3], head.norm, head.conv_seg

    head.eval()  # running statistics, no dropout: one affine map, then the classifier
    expected = F.conv2d(
        F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0,
                     bn.eps), conv.weight, conv.bias)
    assert torch.allclose(head(inputs), expected, atol=1e-5)

    head.train()  # batch statistics, then channel dropout with the same random draw
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    normed = (x - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(1, -1, 1, 1) \
        + bn.bias.view(1, -1, 1, 1)
    torch.manual_seed(2)
    dropped = F.dropout2d(normed, 0.5, training=True)
    torch.manual_seed(2)
    out = head(inputs)
    assert torch.allclose(out, F.conv2d(dropped, conv.weight, conv.bias), atol=1e-5)
    # Dropout sits between the norm and the conv: dropping before the norm differs.
    torch.manual_seed(2)
    before = F.batch_norm(F.dropout2d(x, 0.5, training=True), None, None, bn.weight, bn.bias,
                          True, 0.0, bn.eps)
    assert not torch.allclose(out, F.conv2d(before, conv.weight, conv.bias), atol=1e-3)


def test_head_refuses_other_widths_and_several_inputs():
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(ValueError, match='channels \\(4\\) must equal in_channels \\(8\\)'):
            LinearProbeHead(in_channels=8, channels=4, num_classes=5)
        with pytest.raises(ValueError, match='reads one backbone stage'):
            LinearProbeHead(in_channels=[4, 8], in_index=[2, 3], num_classes=5,
                            input_transform='resize_concat')


def test_shipped_head_matches_vicregl_forward():
    """The config-built head against VICRegL's LinearHead forward, re-stated: select
    inputs[in_index], SyncBN over the channels, then BaseDecodeHead.cls_seg (dropout, conv)."""
    cfg = Config.fromfile(str(LINEAR))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        head = MODELS.build(cfg.model.decode_head)
    assert type(head) is LinearProbeHead
    assert isinstance(head.norm, torch.nn.SyncBatchNorm) and head.norm.num_features == 2048
    assert head.in_index == 3 and head.channels == 2048 and head.num_classes == 21
    assert head.dropout.p == 0.1 and isinstance(head.dropout, torch.nn.Dropout2d)
    _randomise(head)
    head.eval()
    feats = [torch.randn(1, c, 4, 4) for c in (256, 512, 1024, 2048)]
    bn = torch.nn.BatchNorm2d(2048).eval()
    bn.load_state_dict(head.norm.state_dict())
    conv = torch.nn.Conv2d(2048, 21, 1)
    conv.load_state_dict(head.conv_seg.state_dict())
    assert torch.allclose(head(feats), conv(bn(feats[3])), atol=1e-5)


# --- configs --------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def r50_backbone(tmp_path_factory) -> Path:
    """An extracted R50 backbone with random weights and BN statistics."""
    from mmdet.models.backbones import ResNet
    torch.manual_seed(0)
    net = ResNet(50)
    _randomise(net)
    training_ckpt = {'state_dict': {f'backbone.{k}': v for k, v in net.state_dict().items()}}
    path = tmp_path_factory.mktemp('probe_r50') / 'r50_backbone.pth'
    return Path(save_backbone(extract_backbone(training_ckpt), str(path), 'mmdet'))


def _check_frozen(model: torch.nn.Module) -> None:
    model.train()
    backbone = model.backbone
    assert not any(p.requires_grad for p in backbone.parameters())
    norms = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert norms and not any(m.training for m in norms)
    assert backbone.norm1 in norms  # the stem too
    head_params = list(model.decode_head.parameters())
    assert head_params and all(p.requires_grad for p in head_params)
    assert model.decode_head.training
    assert all(m.training for m in model.decode_head.modules() if isinstance(m, _BatchNorm))
    assert not model.with_auxiliary_head


@pytest.mark.parametrize('config', PROBES, ids=lambda p: p.stem)
def test_probe_config_freezes_the_backbone_and_loads_every_tensor(config, r50_backbone):
    cfg = Config.fromfile(str(config))
    backbone_cfg = cfg.model.backbone
    assert backbone_cfg.type == 'ResNet' and backbone_cfg.depth == 50
    assert backbone_cfg.frozen_stages == 4 and backbone_cfg.norm_eval is True
    assert backbone_cfg.strides == (1, 2, 1, 1) and backbone_cfg.dilations == (1, 1, 2, 4)
    assert cfg.model.pretrained is None and cfg.model.auxiliary_head is None
    assert cfg.crop_size == (512, 512) and cfg.train_dataloader.batch_size == 4
    assert [d.ann_file for d in cfg.train_dataloader.dataset.datasets] == [
        'ImageSets/Segmentation/train.txt', 'ImageSets/Segmentation/aug.txt']
    assert plain(cfg.optim_wrapper.optimizer) == dict(type='SGD', lr=0.01, momentum=0.9,
                                                      weight_decay=0.0005)
    assert plain(cfg.param_scheduler) == [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0,
                                               by_epoch=False)]  # no pinned end
    assert cfg.train_cfg.max_iters == (40000 if config == LINEAR else 20000)
    if config == FROZEN_FCN:  # the fine-tuning config with the backbone frozen, nothing else
        fcn = Config.fromfile(str(FCN_VOC))
        assert cfg.model.decode_head == fcn.model.decode_head
        assert dict(backbone_cfg, frozen_stages=-1, norm_eval=False) == fcn.model.backbone
    assert set_pretrained(cfg, str(r50_backbone)) == 1

    model = build(cfg)
    model.init_weights()
    source = torch.load(r50_backbone)['state_dict']
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(source)
    for key, value in source.items():
        assert torch.equal(loaded[key], value), key
    _check_frozen(model)


@pytest.mark.parametrize('config', DEMO_PROBES, ids=lambda p: p.stem)
def test_demo_probe_loads_the_pretraining_checkpoint_and_is_frozen(config, pretrain_checkpoint,
                                                                   tmp_path):
    cfg = build_downstream_cfg([str(config), str(pretrain_checkpoint), '--work-dir',
                                str(tmp_path)])
    model = build(cfg)
    model.init_weights()
    state = torch.load(pretrain_checkpoint, weights_only=False)['state_dict']
    source = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(source)
    for key, value in source.items():
        assert torch.equal(loaded[key], value), key
    _check_frozen(model)
    # Only depth and widths differ from the benchmark config the demo stands for.
    benchmark = Config.fromfile(str(LINEAR if config == LINEAR_DEMO else FROZEN_FCN))
    demo = Config.fromfile(str(config))
    assert plain(dict(demo.model.backbone, depth=50)) == plain(benchmark.model.backbone)
    widths = ('in_channels', 'channels')
    assert ({k: v for k, v in plain(demo.model.decode_head).items() if k not in widths}
            == {k: v for k, v in plain(benchmark.model.decode_head).items() if k not in widths})
    assert plain(demo.optim_wrapper) == plain(benchmark.optim_wrapper)
    assert plain(demo.param_scheduler) == plain(benchmark.param_scheduler)


def test_submission_configs_read_the_test_list_without_labels():
    for config in (VOC_TEST, VOC_TEST_DEMO):
        cfg = Config.fromfile(str(config))
        test_set = cfg.test_dataloader.dataset
        assert test_set.ann_file == 'ImageSets/Segmentation/test.txt'
        assert test_set.data_prefix == dict(img_path='JPEGImages')
        assert [t.type for t in test_set.pipeline] == [
            'LoadImageFromFile', 'Resize', 'PackSegInputs']
        assert cfg.test_evaluator.type == 'IoUMetric' and cfg.test_evaluator.format_only
        assert cfg.test_evaluator.output_dir == f'work_dirs/{config.stem}/pred'
        # Validation during training is untouched.
        assert cfg.val_dataloader.dataset.ann_file == 'ImageSets/Segmentation/val.txt'
        assert 'seg_map_path' in cfg.val_dataloader.dataset.data_prefix
    full = Config.fromfile(str(VOC_TEST))
    assert full.model == Config.fromfile(str(FCN_VOC)).model
    assert full.test_dataloader.dataset.pipeline[1].scale == (2048, 512)


def test_format_only_output_dir_follows_the_work_dir():
    cfg = Config(dict(work_dir='w', test_evaluator=dict(type='IoUMetric', format_only=True,
                                                        output_dir='cfg')))
    assert set_format_only_output_dir(cfg, None) == [os.path.join('w', 'pred')]
    assert set_format_only_output_dir(cfg, 'o') == ['o']
    cfg.test_evaluator.output_dir = 'cli'
    assert set_format_only_output_dir(cfg, None, {'test_evaluator.output_dir': 'cli'}) == ['cli']
    listed = Config(dict(work_dir='w', test_evaluator=[dict(type='IoUMetric'), dict(
        type='IoUMetric', format_only=True)]))
    assert set_format_only_output_dir(listed, None) == [os.path.join('w', 'pred')]
    assert 'output_dir' not in listed.test_evaluator[0]


# --- demo data ------------------------------------------------------------------------------

def test_demo_voc_has_a_test_list_and_old_trees_get_it(labelled_root, tmp_path):
    seg_sets = labelled_root / 'data' / 'demo_labelled' / 'VOCdevkit' / 'VOC2012' / 'ImageSets' \
        / 'Segmentation'
    assert (seg_sets / 'test.txt').read_text() == (seg_sets / 'val.txt').read_text()
    assert len((seg_sets / 'test.txt').read_text().split()) == 4
    args = dict(formats=['voc'], num_train=1, num_val=2, image_size=16)
    voc = Path(generate_labelled_demo_data(str(tmp_path / 'd'), **args)['voc'])
    test_list = voc / 'VOC2012' / 'ImageSets' / 'Segmentation' / 'test.txt'
    written = test_list.read_bytes()
    assert not (voc / 'VOC2007' / 'ImageSets' / 'Segmentation' / 'test.txt').exists()
    test_list.unlink()  # a tree published before test.txt existed, same stamp
    assert generate_labelled_demo_data(str(tmp_path / 'd'), **args)['voc'] == str(voc)
    assert test_list.read_bytes() == written


# --- submission packaging -------------------------------------------------------------------

def _write_preds(folder: Path, arrays: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        Image.fromarray(array.astype(np.uint8)).save(folder / f'{name}.png')


def test_voc_submission_refuses_bad_predictions(tmp_path):
    ids = tmp_path / 'test.txt'
    ids.write_text('a\nb\n')
    good = np.array([[0, 20], [255, 3]])
    _write_preds(tmp_path / 'p1', {'a': good})
    with pytest.raises(SubmissionError, match='1 of 2 test ids have no .*\\(b\\)'):
        make_voc_submission(str(tmp_path / 'p1'), str(ids), str(tmp_path / 'o'))
    _write_preds(tmp_path / 'p2', {'a': good, 'b': np.array([[21, 0], [254, 0]])})
    with pytest.raises(SubmissionError, match='values outside 0-20 and 255 .*b \\(21, 254\\)'):
        make_voc_submission(str(tmp_path / 'p2'), str(ids), str(tmp_path / 'o'))
    img_dir = tmp_path / 'JPEGImages'
    img_dir.mkdir()
    Image.new('RGB', (2, 2)).save(img_dir / 'a.jpg')
    Image.new('RGB', (3, 2)).save(img_dir / 'b.jpg')
    _write_preds(tmp_path / 'p3', {'a': good, 'b': good})
    with pytest.raises(SubmissionError, match='differ in size .*b \\(2x2, image 3x2\\)'):
        make_voc_submission(str(tmp_path / 'p3'), str(ids), str(tmp_path / 'o'),
                            img_dir=str(img_dir))
    Image.new('RGB', (2, 2)).save(tmp_path / 'p3' / 'b.png')
    with pytest.raises(SubmissionError, match='is a RGB image'):
        make_voc_submission(str(tmp_path / 'p3'), str(ids), str(tmp_path / 'o'))
    assert not (tmp_path / 'o').exists()  # nothing written by a refused run
    with pytest.raises(SubmissionError, match="competition 'comp4'"):
        make_voc_submission(str(tmp_path / 'p1'), str(ids), str(tmp_path / 'o'), 'comp4')


# --- one run: train the linear probe, test on the test list, package ------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


ITERS = 4


@pytest.fixture(scope='module')
def linear_probe_run(pretrain_checkpoint, labelled_root, tmp_path_factory) -> Path:
    """tools/benchmarks/mmseg/dist_train.sh on the linear-probe demo (torchrun, one CPU
    process, gloo): ITERS iterations, then one evaluation and a checkpoint."""
    work_dir = tmp_path_factory.mktemp('linear_probe') / 'train'
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHON', 'MMDENSE_VENV')}
    env['PORT'] = str(_free_port())
    proc = subprocess.run(
        ['bash', str(REPO / 'tools' / 'benchmarks' / 'mmseg' / 'dist_train.sh'),
         str(LINEAR_DEMO), str(pretrain_checkpoint), '1', '--work-dir', str(work_dir),
         '--cfg-options', f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
         f'default_hooks.checkpoint.interval={ITERS}', 'default_hooks.logger.interval=1'],
        cwd=labelled_root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work_dir


def test_linear_probe_run_reports_miou_and_leaves_the_backbone_unchanged(linear_probe_run):
    work_dir = linear_probe_run
    log = '\n'.join(p.read_text() for p in sorted(work_dir.glob('*/*.log')))
    assert f'Loads checkpoint by local backend from path: {work_dir / "pretrain_backbone.pth"}' \
        in log
    assert 'missing keys in source state_dict' not in log  # every backbone tensor loaded
    scalars = [json.loads(line) for line in
               next(work_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    assert 'mIoU' in scalars[-1] and 0 <= scalars[-1]['mIoU'] <= 100
    assert [s['iter'] for s in scalars if 'loss' in s] == list(range(1, ITERS + 1))
    extracted = torch.load(work_dir / 'pretrain_backbone.pth')['state_dict']
    trained = torch.load(work_dir / f'iter_{ITERS}.pth', weights_only=False)['state_dict']
    backbone = {k[len('backbone.'):]: v for k, v in trained.items() if k.startswith('backbone.')}
    assert set(backbone) == set(extracted)
    for key, value in extracted.items():  # weights and BN statistics, bit for bit
        assert torch.equal(backbone[key], value), key
    # The head did train: SGD moved the classifier off its init.
    assert set(k for k in trained if not k.startswith('backbone.')) == {
        f'decode_head.{n}' for n in ('conv_seg.weight', 'conv_seg.bias', 'bn.weight', 'bn.bias',
                                     'bn.running_mean', 'bn.running_var',
                                     'bn.num_batches_tracked')}
    assert trained['decode_head.bn.num_batches_tracked'] == ITERS


def test_test_tool_refuses_a_checkpoint_without_the_head(pretrain_checkpoint, labelled_root,
                                                         tmp_path, monkeypatch):
    monkeypatch.chdir(labelled_root)
    with pytest.raises(ConfigError, match='lacks .* weights of the model .*decode_head'):
        downstream_test_main([str(VOC_TEST_DEMO), str(pretrain_checkpoint), '--work-dir',
                              str(tmp_path), '--cfg-options', 'experiment_name=probe_refuse',
                              'visualizer.name=probe_refuse'])


def test_voc_test_submission_on_demo_data(linear_probe_run, labelled_root, tmp_path,
                                          monkeypatch, capsys):
    voc = labelled_root / 'data' / 'demo_labelled' / 'VOCdevkit' / 'VOC2012'
    ids = (voc / 'ImageSets' / 'Segmentation' / 'test.txt').read_text().split()
    monkeypatch.chdir(labelled_root)  # the demo configs' data root is relative
    monkeypatch.setattr(sys, 'argv', [
        'test.py', str(VOC_TEST_DEMO), str(linear_probe_run / f'iter_{ITERS}.pth'),
        '--work-dir', str(tmp_path / 'test'), '--cfg-options', 'experiment_name=probe_voc_test',
        'visualizer.name=probe_voc_test'])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO / 'tools' / 'benchmarks' / 'test.py'), run_name='__main__')
    assert exit_info.value.code == 0
    pred_dir = tmp_path / 'test' / 'pred'
    assert sorted(p.stem for p in pred_dir.glob('*.png')) == sorted(ids)
    preds = {i: read_prediction(str(pred_dir / f'{i}.png')) for i in ids}
    for image_id, pred in preds.items():
        with Image.open(voc / 'JPEGImages' / f'{image_id}.jpg') as image:
            assert pred.shape == image.size[::-1]
        assert pred.max() <= 20

    monkeypatch.setattr(sys, 'argv', ['voc_submission.py', str(pred_dir), '--voc-root', str(voc)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO / 'tools' / 'benchmarks' / 'mmseg' / 'voc_submission.py'),
                       run_name='__main__')
    assert exit_info.value.code == 0
    out = tmp_path / 'test' / 'submission'
    assert f'upload: {out / "results.tar.gz"}' in capsys.readouterr().out
    results = out / 'results' / 'VOC2012' / 'Segmentation' / 'comp6_test_cls'
    assert sorted(p.name for p in results.iterdir()) == sorted(f'{i}.png' for i in ids)
    palette = voc_palette().flatten().tolist()
    for image_id in ids:
        with Image.open(results / f'{image_id}.png') as image:
            assert image.mode == 'P' and image.getpalette()[:768] == palette
            assert np.array_equal(np.array(image), preds[image_id])
    with tarfile.open(out / 'results.tar.gz') as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert {n for n, m in members.items() if m.isfile()} == {
            f'results/VOC2012/Segmentation/comp6_test_cls/{i}.png' for i in ids}
        first = tar.extractfile(f'results/VOC2012/Segmentation/comp6_test_cls/{ids[0]}.png')
        assert first.read() == (results / f'{ids[0]}.png').read_bytes()
    # A second run refuses to overwrite the results folder unless asked to.
    with pytest.raises(SubmissionError, match='exists; pass --overwrite'):
        make_voc_submission(str(pred_dir), str(voc / 'ImageSets' / 'Segmentation' / 'test.txt'),
                            str(out))
    again = make_voc_submission(str(pred_dir), str(voc / 'ImageSets' / 'Segmentation' /
                                                   'test.txt'), str(out), overwrite=True,
                                img_dir=str(voc / 'JPEGImages'))
    assert again.num_images == again.num_size_checked == len(ids)
