"""Downstream launchers: backbone preparation, config rewriting, and tiny CPU fine-tunes.

The fine-tunes start from a checkpoint written by tools/train.py on the DenseCL demo
config and run the demo benchmark configs through tools/benchmarks/{mmseg,mmdet}/
dist_train.sh (torchrun, one CPU process, gloo): a few iterations plus one evaluation.
"""
import json
import os
import runpy
import socket
import subprocess
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmdense.transfer.benchmark_results import results_table, summarise_work_dir
from mmdense.transfer.downstream_train import (build_downstream_cfg, downstream_main,
                                               is_training_checkpoint, prepare_pretrained,
                                               replace_sync_bn, set_pretrained)

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / 'configs' / 'benchmarks'
MMSEG_DEMO = BENCHMARKS / 'mmseg' / 'fcn_r18-d8_1xb4-20it_demo-ade20k-64x64.py'
MMDET_DEMO = BENCHMARKS / 'mmdet' / 'faster-rcnn_r18-c4_1xb2-20it_demo-voc0712.py'


def test_prepare_pretrained_extracts_training_checkpoints_only(pretrain_checkpoint, tmp_path):
    state = torch.load(pretrain_checkpoint, weights_only=False)
    assert is_training_checkpoint(state)
    backbone = prepare_pretrained(str(pretrain_checkpoint), str(tmp_path))
    assert backbone == str(tmp_path / 'pretrain_backbone.pth')
    extracted = torch.load(backbone)['state_dict']
    assert not is_training_checkpoint(extracted)
    online = {k[len('backbone.'):]: v for k, v in state['state_dict'].items()
              if k.startswith('backbone.')}
    assert extracted.keys() == online.keys()
    assert all(torch.equal(extracted[k], online[k]) for k in online)
    # The momentum encoder on request; a backbone file is passed through untouched.
    momentum = prepare_pretrained(str(pretrain_checkpoint), str(tmp_path / 'm'),
                                  'momentum_backbone')
    assert torch.equal(torch.load(momentum)['state_dict']['conv1.weight'],
                       state['state_dict']['momentum_backbone.conv1.weight'])
    assert prepare_pretrained(backbone, str(tmp_path / 'x')) == backbone
    assert not (tmp_path / 'x').exists()
    with pytest.raises(FileNotFoundError, match='does not exist'):
        prepare_pretrained(str(tmp_path / 'nope.pth'), str(tmp_path))


def test_set_pretrained_and_replace_sync_bn():
    cfg = Config(
        dict(model=dict(
            backbone=dict(norm_cfg=dict(
                type='SyncBN'), init_cfg=dict(type='Pretrained', checkpoint='a')), roi_head=dict(
                    shared_head=dict(norm_cfg=dict(type='SyncBN'), init_cfg=dict(
                        type='Pretrained', checkpoint='a'))), neck=dict(
                            init_cfg=[dict(type='Xavier', layer='Conv2d')]))))
    assert set_pretrained(cfg, 'b.pth') == 2
    assert cfg.model.backbone.init_cfg.checkpoint == 'b.pth'
    assert cfg.model.roi_head.shared_head.init_cfg.checkpoint == 'b.pth'
    assert replace_sync_bn(cfg) == 2
    assert cfg.model.backbone.norm_cfg.type == cfg.model.roi_head.shared_head.norm_cfg.type == 'BN'
    with pytest.raises(ValueError, match='no init_cfg=dict\\(type="Pretrained"'):
        set_pretrained(Config(dict(model=dict(backbone=dict(type='ResNet')))), 'b.pth')


def test_launcher_refuses_a_config_of_the_other_package(pretrain_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="default_scope='mmseg'.*tools/benchmarks/mmseg"):
        build_downstream_cfg([str(MMSEG_DEMO), str(pretrain_checkpoint), '--scope', 'mmdet',
                              '--work-dir', str(tmp_path)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _launch(package: str, config: Path, pretrain: Path, work_dir: Path, cwd: Path, options: list):
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHON', 'MMDENSE_VENV')}
    env['PORT'] = str(_free_port())
    start = time.perf_counter()
    proc = subprocess.run(
        ['bash', str(REPO / 'tools' / 'benchmarks' / package / 'dist_train.sh'), str(config),
         str(pretrain), '1', '--work-dir', str(work_dir), '--cfg-options', *options],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, time.perf_counter() - start


def _log(work_dir: Path) -> str:
    return '\n'.join(p.read_text() for p in sorted(work_dir.glob('*/*.log')))


ITERS = 2


@pytest.fixture(scope='module')
def finetuned(pretrain_checkpoint, labelled_root, tmp_path_factory):
    """Both packages, from the same pre-training checkpoint, on the labelled demo data.

    mmseg runs through its launcher script (torchrun, one gloo process); mmdet in this
    process through the same Python entry (its script's command line is checked in
    test_mmdet_launcher_command): a second torchrun start costs tens of seconds here.
    """
    root = tmp_path_factory.mktemp('finetune')
    options = [f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
               f'default_hooks.checkpoint.interval={ITERS}', 'default_hooks.logger.interval=1']
    proc, seconds = _launch('mmseg', MMSEG_DEMO, pretrain_checkpoint, root / 'mmseg',
                            labelled_root, options)
    runs = {'mmseg': (root / 'mmseg', proc.stderr, seconds)}
    start, cwd = time.perf_counter(), os.getcwd()
    os.chdir(labelled_root)  # the demo configs' data root is relative, as in the repo
    try:
        downstream_main([str(MMDET_DEMO), str(pretrain_checkpoint), '--work-dir',
                         str(root / 'mmdet'), '--cfg-options', *options,
                         'experiment_name=transfer_mmdet', 'visualizer.name=transfer_mmdet'])
    finally:
        os.chdir(cwd)
    runs['mmdet'] = (root / 'mmdet', None, time.perf_counter() - start)
    for package, (_, _, secs) in runs.items():
        print(f'{package} fine-tune: {secs:.1f} s')
    return runs


def test_mmdet_launcher_command(tmp_path):
    recorder = tmp_path / 'python'
    recorder.write_text('#!/usr/bin/env bash\nfor a in "$@"; do echo "ARG $a"; done\n')
    recorder.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ('MASTER_PORT', 'RDZV_TIMEOUT')}
    env.update(PYTHON=str(recorder), PORT='29777')
    proc = subprocess.run(['bash', str(REPO / 'tools' / 'benchmarks' / 'mmdet' / 'dist_train.sh'),
                           'c.py', 'p.pth', '2', '--work-dir', 'w'], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    args = [line[4:] for line in proc.stdout.splitlines() if line.startswith('ARG ')]
    assert args == ['-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
                    '--master_addr=127.0.0.1', '--master_port=29777', '--rdzv_conf=timeout=600',
                    '--nproc_per_node=2',
                    str(REPO / 'tools' / 'benchmarks' / 'train.py'), 'c.py', 'p.pth',
                    '--launcher', 'pytorch', '--scope', 'mmdet', '--work-dir', 'w']
    usage = subprocess.run(['bash', str(REPO / 'tools' / 'benchmarks' / 'mmdet' / 'dist_train.sh'),
                            'c.py'], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and 'CONFIG PRETRAIN GPUS' in usage.stderr


@pytest.mark.parametrize('package', ['mmseg', 'mmdet'])
def test_finetune_loads_every_backbone_weight_and_reports_a_metric(finetuned, package):
    work_dir, stderr, _ = finetuned[package]
    log = _log(work_dir)
    backbone = work_dir / 'pretrain_backbone.pth'
    assert backbone.is_file()  # extracted from the training checkpoint into the work dir
    assert f'Loads checkpoint by local backend from path: {backbone}' in log
    dumped = Config.fromfile(str(next(work_dir.glob('*.py'))))
    assert dumped.model.backbone.init_cfg.checkpoint == str(backbone)
    assert dumped.default_scope == package
    if stderr is not None:
        # One CPU process under torchrun: SyncBN is swapped for BN, with a warning.
        assert 'SyncBN replaced by BN' in stderr
        assert dumped.model.backbone.norm_cfg.type == 'BN'
    else:
        # Not distributed: the config keeps SyncBN and mmengine's Runner reverts it.
        assert dumped.model.backbone.norm_cfg.type == 'SyncBN'
    # mmengine logs the keys that did not load: the backbone misses none. (The C4
    # backbone file also holds layer4, which goes to the RoI head, and the head's
    # extra norm is new.)
    for line in log.splitlines():
        if line.startswith('missing keys in source state_dict'):
            assert all(k.startswith('bn_extra.') for k in line.split(': ', 1)[1].split(', '))
    if package == 'mmdet':
        assert log.count(f'Loads checkpoint by local backend from path: {backbone}') == 2
        # detectron2's TEST.PRECISE_BN: the statistics are re-estimated before the evaluation.
        precise = log.index('Precise BN: done (2 iterations)')
        assert 'Precise BN: averaging the statistics of' in log
        assert precise < log.index('(val) [')
    scalars = [json.loads(line) for line in
               next(work_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    metrics = scalars[-1]
    key = 'mIoU' if package == 'mmseg' else 'pascal_voc/mAP'
    assert key in metrics
    assert 0 <= metrics[key] <= (100 if package == 'mmseg' else 1)


def test_collect_results_tabulates_the_last_evaluation(finetuned, tmp_path, capsys):
    seg_dir, det_dir = finetuned['mmseg'][0], finetuned['mmdet'][0]
    seg = summarise_work_dir(str(seg_dir))
    det = summarise_work_dir(str(det_dir))
    seg_metrics = json.loads(
        next(seg_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()[-1])
    det_metrics = json.loads(
        next(det_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()[-1])
    assert seg['task'] == 'seg' and seg['mIoU'] == f"{seg_metrics['mIoU']:.1f}"
    # The backbone was extracted from a training checkpoint: the table names that checkpoint
    # (recorded beside the extracted file), and the work dir.
    source = json.loads((seg_dir / 'pretrain_backbone.json').read_text())['source']
    assert seg['config'] == MMSEG_DEMO.stem and seg['pretrain'] == source
    assert source.endswith('.pth') and 'pretrain_backbone' not in source
    assert seg['work_dir'] == str(seg_dir)
    assert det['task'] == 'det' and det['AP50'] == f"{det_metrics['pascal_voc/AP50'] * 100:.1f}"
    assert det['AP75'] == f"{det_metrics['pascal_voc/AP75'] * 100:.1f}"
    (tmp_path / 'empty').mkdir()
    collect = runpy.run_path(str(REPO / 'tools' / 'benchmarks' / 'collect_results.py'))
    table = collect['main']([str(seg_dir), str(det_dir), str(tmp_path / 'empty')])
    assert capsys.readouterr().out.strip() == table
    assert table == results_table([str(seg_dir), str(det_dir), str(tmp_path / 'empty')])
    lines = table.splitlines()
    assert lines[0] == '| Config | Work dir | Pretrain | AP | AP50 | AP75 |'
    assert lines[2].startswith(f'| {MMDET_DEMO.stem} | {det_dir} | {det["pretrain"]} | ')
    assert '| Config | Work dir | Pretrain | mIoU | aAcc | mAcc |' in lines
    assert lines[-1] == 'No evaluation logged yet: empty'
