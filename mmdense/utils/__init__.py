from .atomic_file_backend import AtomicLocalBackend, atomic_write_bytes
from .checkpoint import (CheckpointFileError, allow_runner_checkpoint_globals,
                         check_checkpoint_file, load_checkpoint_file,
                         runner_checkpoint_safe_globals)
from .preflight import ConfigError, check_train_cfg
from .resume_checkpoint import find_resumable_checkpoint, is_complete_checkpoint, list_checkpoints
from .schedule_check import schedule_mismatches
from .setup_env import register_all_modules
from .worker_seed import seed_worker_from_torch_seed

__all__ = [
    'register_all_modules', 'allow_runner_checkpoint_globals', 'runner_checkpoint_safe_globals',
    'load_checkpoint_file', 'check_checkpoint_file', 'CheckpointFileError', 'AtomicLocalBackend',
    'atomic_write_bytes', 'find_resumable_checkpoint', 'is_complete_checkpoint',
    'list_checkpoints', 'seed_worker_from_torch_seed', 'ConfigError', 'check_train_cfg',
    'schedule_mismatches'
]
