"""Pre-flight config checks: one-line errors naming the key and the fix."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmdense.apis import build_train_cfg, parse_train_args, train
from mmdense.utils import ConfigError, check_train_cfg

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py')


def _cfg(*options: str) -> Config:
    argv = [CONFIG, '--work-dir', '/tmp/never_used']
    if options:
        argv += ['--cfg-options', *options]
    return build_train_cfg(parse_train_args(argv))


def _error(cfg: Config, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        check_train_cfg(cfg, **kwargs)
    message = str(info.value)
    assert '\n' not in message
    return message


def test_demo_config_passes():
    check_train_cfg(_cfg(), accelerator_available=False, world_size=1)


def test_unknown_algorithm_and_component_types():
    message = _error(_cfg('model.type=DenseCLL'))
    assert "model.type='DenseCLL'" in message and "'DenseCL'" in message
    message = _error(_cfg('model.neck.type=DenseNeck'))
    assert 'model.neck.type' in message and 'DenseCLNeck' in message
    assert 'train_dataloader.dataset.pipeline.0' in _error(_cfg(
        'train_dataloader.dataset.pipeline.0.type=LoadImage'))


def test_wrong_argument_name():
    message = _error(_cfg('model.neck.hid_chanels=64'))
    assert message.startswith('model.neck.hid_chanels: DenseCLNeck has no argument')
    assert "'hid_channels'" in message
    assert 'model.queue_length' in _error(_cfg('model.queue_length=32'))


def test_queue_must_hold_the_total_batch():
    # The queue wraps around, so a batch that does not divide it is fine (32 / 6).
    check_train_cfg(_cfg('train_dataloader.batch_size=6'), accelerator_available=False,
                    world_size=1)
    message = _error(_cfg('train_dataloader.batch_size=40'), world_size=1)
    assert 'model.queue_len=32' in message and 'total batch 40' in message
    assert 'at least 40' in message
    # The total batch counts every process: 8 x 4 = 32 fits, 8 x 5 does not.
    check_train_cfg(_cfg(), accelerator_available=False, world_size=4)
    assert 'x 5 process(es)' in _error(_cfg(), world_size=5)


def test_single_view_pipeline_for_two_view_algorithm():
    cfg = _cfg()
    pipeline = cfg.train_dataloader.dataset.pipeline
    cfg.train_dataloader.dataset.pipeline = [pipeline[0], *pipeline[1].transforms[0], pipeline[2]]
    message = _error(cfg)
    assert 'DenseCL compares two views' in message and 'makes 1' in message
    assert 'MultiView' in message
    cfg.train_dataloader.dataset.pipeline = pipeline
    cfg.train_dataloader.dataset.pipeline[1].num_views = [1, 1, 1]
    cfg.train_dataloader.dataset.pipeline[1].transforms *= 3
    assert 'makes 3' in _error(cfg)


def test_gpu_only_options_on_cpu():
    message = _error(_cfg('optim_wrapper.type=AmpOptimWrapper'), accelerator_available=False)
    assert 'needs a GPU' in message and 'OptimWrapper' in message
    check_train_cfg(_cfg('optim_wrapper.type=AmpOptimWrapper'), accelerator_available=True)
    message = _error(_cfg('model.backbone.norm_cfg.type=SyncBN'), accelerator_available=False)
    assert message.startswith('model.backbone.norm_cfg uses SyncBN')
    assert 'sync_bn' in _error(_cfg('sync_bn=torch'), accelerator_available=False)
    with pytest.raises(RuntimeError, match='--amp needs a GPU'):
        build_train_cfg(parse_train_args([CONFIG, '--amp']))


def test_train_checks_before_building_anything(tmp_path):
    cfg = _cfg('model.neck.hid_chanels=64')
    cfg.work_dir = str(tmp_path / 'run')
    with pytest.raises(ConfigError, match='hid_chanels'):
        train(cfg)
    assert not (tmp_path / 'run').exists()  # no Runner was built


@pytest.mark.parametrize('option, expected', [
    ('train_cfg.max_iters=100', "train_cfg.max_iters: EpochBasedTrainLoop has no argument "
     "'max_iters'. EpochBasedTrainLoop counts epochs: set train_cfg.max_epochs, or "
     "train_cfg.type='IterBasedTrainLoop' to count iterations."),
    ('train_dataloader.batchsize=4', "train_dataloader.batchsize: torch.utils.data.DataLoader has "
     "no argument 'batchsize'. Did you mean 'batch_size'"),
    ('optim_wrapper.optimizer.learning_rate=0.1', "optim_wrapper.optimizer.learning_rate: SGD has "
     "no argument 'learning_rate'. The learning rate is `lr`."),
    ('optim_wrapper.clip_gradient=1', "optim_wrapper.clip_gradient: OptimWrapper has no argument "
     "'clip_gradient'. Did you mean 'clip_grad'?"),
    ('param_scheduler.0.T_maxx=3', "param_scheduler.0.T_maxx: CosineAnnealingLR has no argument "
     "'T_maxx'. Did you mean 'T_max'?"),
])
def test_mistakes_outside_the_model_name_the_key_and_the_fix(option, expected):
    assert _error(_cfg(option)).startswith(expected)


def test_own_dataset_over_the_demo_one_says_to_delete_the_base_dict():
    message = _error(_cfg('train_dataloader.dataset.type=UnlabeledImageDataset',
                          'train_dataloader.dataset.data_root=data/mine'))
    assert message.startswith("train_dataloader.dataset.num_images: UnlabeledImageDataset has no "
                              "argument 'num_images'.")
    assert 'add _delete_=True to train_dataloader.dataset' in message
    # The iteration-based loop gets the mirror-image hint.
    message = _error(_cfg('train_cfg.type=IterBasedTrainLoop', 'train_cfg.max_iters=8'))
    assert "IterBasedTrainLoop counts iterations: set train_cfg.max_iters" in message
