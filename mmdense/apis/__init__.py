"""The pre-training entry point used by ``tools/train.py`` and the tests."""
from .train import (build_train_cfg, build_train_parser, default_work_dir, enable_amp,
                    init_cpu_process_group, main, parse_train_args, train)

__all__ = [
    'build_train_cfg', 'build_train_parser', 'default_work_dir', 'enable_amp', 'main',
    'parse_train_args', 'train', 'init_cpu_process_group'
]
