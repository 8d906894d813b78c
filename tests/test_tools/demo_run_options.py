"""``--cfg-options`` shared by the Runner tests of the demo configs (test_*_runs.py)."""
from pathlib import Path


def demo_run_options(data_root: Path, experiment_name: str, *extra: str) -> list:
    """Shrink a demo config to 4 generated 96-px images, batch 2, 2 epochs: 4 iterations.

    One warm-up epoch, then the cosine schedules follow the loop; a checkpoint every
    epoch; seeded and deterministic. Runs in one process need unique logger, message hub
    and visualizer names, hence ``experiment_name``. ``extra`` options (the model's
    widths, a method's dataset keys) come last and win.
    """
    return [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.num_images=4',
        'train_dataloader.dataset.image_size=96',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_cfg.max_epochs=2',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
        'randomness.seed=0',
        'randomness.deterministic=True',
        f'experiment_name={experiment_name}',
        f'visualizer.name={experiment_name}',
        *extra,
    ]
