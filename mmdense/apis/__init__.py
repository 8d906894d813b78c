"""High-level entry points (pre-training, downstream fine-tuning) used by ``tools/`` and the tests."""
from .downstream_train import build_downstream_cfg, downstream_main, run_downstream
from .train import (build_train_cfg, build_train_parser, default_work_dir, enable_amp, main,
                    parse_train_args, train)

__all__ = [
    'build_train_cfg', 'build_train_parser', 'default_work_dir', 'enable_amp', 'main',
    'parse_train_args', 'train', 'build_downstream_cfg', 'downstream_main', 'run_downstream'
]
