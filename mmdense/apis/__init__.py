"""High-level entry points (training) used by ``tools/`` and the tests."""
from .train import (build_train_cfg, build_train_parser, default_work_dir, enable_amp, main,
                    parse_train_args, train)

__all__ = [
    'build_train_cfg', 'build_train_parser', 'default_work_dir', 'enable_amp', 'main',
    'parse_train_args', 'train'
]
from .downstream_train import build_downstream_cfg, downstream_main, run_downstream  # noqa: E402

__all__ += ['build_downstream_cfg', 'downstream_main', 'run_downstream']
