"""Learning-rate schedules follow the run length: `train_cfg.max_epochs=N` alone gives the
whole schedule over N epochs; a pinned one that no longer fits is reported."""
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from mmdense.apis import main
from mmdense.utils import schedule_mismatches

REPO = Path(__file__).resolve().parents[2]


def _logged_lrs(work_dir: Path) -> list:
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    return [json.loads(line)['lr'] for line in scalars.read_text().splitlines()
            if 'lr' in json.loads(line)]


def _run(config: str, tmp_path: Path, name: str, *options: str) -> Path:
    work_dir = tmp_path / name
    main([str(REPO / config), '--work-dir', str(work_dir), '--cfg-options',
          f'train_dataloader.dataset.data_root={tmp_path / name / "data"}',
          'train_dataloader.dataset.num_images=4', 'train_dataloader.batch_size=2',
          'train_dataloader.num_workers=0', 'default_hooks.logger.interval=1',
          'default_hooks.checkpoint.interval=100', f'experiment_name={name}',
          f'visualizer.name={name}', *options])
    return work_dir


def test_epoch_cosine_spans_a_changed_max_epochs(tmp_path):
    """DenseCL demo (10 epochs in the file) run for 3: the cosine is 1, 0.75, 0.25 of the base."""
    work_dir = _run('configs/densecl/densecl_r18_demo.py', tmp_path, 'cosine3',
                    'train_cfg.max_epochs=3', 'custom_hooks.0.start_iters=0',
                    'train_dataloader.dataset.image_size=64', 'model.queue_len=2')
    lrs = _logged_lrs(work_dir)
    base = Config.fromfile(REPO / 'configs/densecl/densecl_r18_demo.py').optim_wrapper.optimizer.lr
    assert len(lrs) == 6  # 2 iterations per epoch
    assert lrs[::2] == pytest.approx([base, 0.75 * base, 0.25 * base])


def test_warmup_then_iteration_cosine_spans_a_changed_max_epochs(tmp_path):
    """PixPro demo (4 epochs in the file) run for 2: one warm-up epoch, then a cosine over the
    second epoch's 2 iterations that reaches its floor at the end of the run."""
    work_dir = _run('configs/pixpro/pixpro_r18_demo.py', tmp_path, 'lars2',
                    'train_cfg.max_epochs=2',
                    'model.backbone.base_channels=16', 'model.neck.in_channels=128',
                    'model.neck.hid_channels=128', 'train_dataloader.dataset.indices=None')
    lrs = _logged_lrs(work_dir)
    cfg = Config.fromfile(REPO / 'configs/pixpro/pixpro_r18_demo.py')
    base, floor = cfg.optim_wrapper.optimizer.lr, cfg.param_scheduler[1].eta_min
    assert len(lrs) == 4
    # Iteration 2 starts the cosine at the base lr; iteration 3 is halfway down (T = 2).
    assert lrs[2] == pytest.approx(base)
    assert lrs[3] == pytest.approx(floor + (base - floor) * 0.5, rel=1e-6)


def test_shipped_schedules_follow_the_loop_and_pinned_ones_are_reported():
    for path in sorted((REPO / 'configs').glob('**/*.py')):
        cfg = Config.fromfile(path)
        if 'train_cfg' in cfg and 'param_scheduler' in cfg:
            assert schedule_mismatches(cfg) == [], path
    cfg = Config(dict(train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=12),
                      param_scheduler=[dict(type='CosineAnnealingLR', T_max=10, by_epoch=True,
                                            begin=0, end=10)]))
    short = schedule_mismatches(cfg)
    assert short == ['param_scheduler.0 (CosineAnnealingLR) ends at epoch 10 but '
                     'train_cfg.max_epochs=12: the last 2 epochs keep its final value; drop `end` '
                     '(and `T_max`) from param_scheduler to follow the run length, or set them to '
                     '12.']
    cfg.train_cfg.max_epochs = 2
    assert 'cut off 8 epochs before it ends' in schedule_mismatches(cfg)[0]
    cfg = Config(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=1000),
                      param_scheduler=[dict(type='LinearLR', by_epoch=False, begin=0, end=100),
                                       dict(type='MultiStepLR', by_epoch=False, begin=0,
                                            milestones=[18000, 22000])]))
    message, = schedule_mismatches(cfg)
    assert message.startswith('param_scheduler.1 (MultiStepLR) has milestones [18000, 22000] '
                              'but the run has 1000 iterations')
    # A warm-up that ends early is fine (it returns to the base rate); one longer than the run
    # is not.
    cfg = Config(dict(train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=3),
                      param_scheduler=[dict(type='LinearLR', by_epoch=True, begin=0, end=5),
                                       dict(type='CosineAnnealingLR', by_epoch=True, begin=5)]))
    assert schedule_mismatches(cfg) == [
        'param_scheduler.0 (LinearLR) warms up until epoch 5 but the run has 3 epochs: it never '
        'reaches the base learning rate; shorten its `end`.']
    cfg.train_cfg.max_epochs = 10
    assert schedule_mismatches(cfg) == []
