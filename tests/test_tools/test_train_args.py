"""Command-line handling of tools/train.py, tested through mmdense.apis.train."""
import os.path as osp

import pytest
import torch

from mmdense.apis import build_train_cfg, default_work_dir, enable_amp, parse_train_args
from mmdense.apis.train import _adapt_to_cpu_distributed

TINY_CONFIG = """
model = dict(type='Toy')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10)
custom_hooks = [dict(type='SomeHook', start_iters=8), dict(type='OtherHook')]
env_cfg = dict(dist_cfg=dict(backend='nccl', timeout=60))
auto_scale_lr = dict(base_batch_size=256, enable=False)
randomness = dict(seed=None, deterministic=False)
load_from = 'pretrained.pth'
resume = False
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / 'toy_r18_demo.py'
    path.write_text(TINY_CONFIG)
    return str(path)


def _cfg(*argv):
    return build_train_cfg(parse_train_args(list(argv)))


def test_work_dir_precedence(config, tmp_path):
    assert _cfg(config).work_dir == osp.join('work_dirs', 'toy_r18_demo')
    assert default_work_dir('a/b/densecl_r18_demo.py') == osp.join('work_dirs', 'densecl_r18_demo')

    with_work_dir = tmp_path / 'with_work_dir.py'
    with_work_dir.write_text(TINY_CONFIG + "work_dir = 'from_config'\n")
    assert _cfg(str(with_work_dir)).work_dir == 'from_config'
    assert _cfg(config, '--cfg-options', 'work_dir=from_options').work_dir == 'from_options'
    # The command-line flag beats both the config and --cfg-options.
    assert _cfg(str(with_work_dir), '--work-dir', 'cli', '--cfg-options',
                'work_dir=from_options').work_dir == 'cli'


def test_cfg_options_merge_typed_and_nested(config):
    cfg = _cfg(config, '--cfg-options', 'optim_wrapper.optimizer.lr=0.5', 'train_cfg.max_iters=3',
               'custom_hooks.0.start_iters=2', 'model.channels=[8,16]', 'model.flag=True')
    lr = cfg.optim_wrapper.optimizer.lr
    assert lr == 0.5 and isinstance(lr, float)
    assert cfg.train_cfg.max_iters == 3 and isinstance(cfg.train_cfg.max_iters, int)
    # Merging into nested dicts and list items keeps their other keys.
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.custom_hooks[0].start_iters == 2 and cfg.custom_hooks[0].type == 'SomeHook'
    assert cfg.custom_hooks[1].type == 'OtherHook'
    assert list(cfg.model.channels) == [8, 16]
    assert cfg.model.flag is True


def test_resume_forms(config):
    assert parse_train_args([config]).resume is None
    assert parse_train_args([config, '--resume']).resume == 'auto'
    # A following option is not taken for the checkpoint path.
    args = parse_train_args([config, '--resume', '--seed', '3'])
    assert args.resume == 'auto' and args.seed == 3
    assert parse_train_args([config, '--resume', 'w/iter_2.pth']).resume == 'w/iter_2.pth'

    untouched = _cfg(config)
    assert untouched.resume is False and untouched.load_from == 'pretrained.pth'
    # Auto-resume must clear load_from: the Runner searches the work dir only then.
    auto = _cfg(config, '--resume')
    assert auto.resume is True and auto.load_from is None
    explicit = _cfg(config, '--resume', 'w/iter_2.pth')
    assert explicit.resume is True and explicit.load_from == 'w/iter_2.pth'


def test_seed_and_auto_scale_lr(config, tmp_path):
    cfg = _cfg(config, '--seed', '7', '--auto-scale-lr')
    assert cfg.randomness.seed == 7 and cfg.randomness.deterministic is False
    assert cfg.auto_scale_lr.enable is True and cfg.auto_scale_lr.base_batch_size == 256
    assert _cfg(config).auto_scale_lr.enable is False

    no_base = tmp_path / 'no_base.py'
    no_base.write_text(
        TINY_CONFIG.replace('auto_scale_lr = dict(base_batch_size=256, enable=False)', ''))
    with pytest.raises(ValueError, match='base_batch_size'):
        _cfg(str(no_base), '--auto-scale-lr')


def test_enable_amp_switches_only_plain_optim_wrapper(config):
    cfg = _cfg(config)
    enable_amp(cfg, accelerator_available=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.1, momentum=0.9)
    enable_amp(cfg, accelerator_available=True)  # already AMP: unchanged
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'

    cfg.optim_wrapper.type = 'OptimWrapperDict'
    with pytest.raises(ValueError, match='OptimWrapperDict'):
        enable_amp(cfg, accelerator_available=True)


def test_enable_amp_refuses_cpu(config):
    cfg = _cfg(config)
    with pytest.raises(RuntimeError, match='needs a GPU'):
        enable_amp(cfg, accelerator_available=False)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only behaviour')
def test_amp_flag_on_cpu_machine_fails_before_training(config):
    with pytest.raises(RuntimeError, match='needs a GPU'):
        _cfg(config, '--amp')


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only behaviour')
def test_launcher_pytorch_on_cpu_uses_gloo_and_no_device_ids(config):
    single = _cfg(config)
    assert single.launcher == 'none'
    assert single.env_cfg.dist_cfg.backend == 'nccl'
    assert single.get('model_wrapper_cfg') is None

    cfg = _cfg(config, '--launcher', 'pytorch')
    assert cfg.launcher == 'pytorch'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.env_cfg.dist_cfg.timeout == 60
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'
    assert cfg.model_wrapper_cfg.device_ids is None

    with pytest.raises(RuntimeError, match='--launcher pytorch'):
        _cfg(config, '--launcher', 'slurm')


def test_cpu_distributed_keeps_configured_wrapper(config):
    cfg = _cfg(config, '--cfg-options', 'find_unused_parameters=True')
    cfg.launcher = 'pytorch'
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True,
                                 device_ids=[0])
    _adapt_to_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
