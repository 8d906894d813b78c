from .checkpoint import (allow_runner_checkpoint_globals, load_checkpoint_file,
                         runner_checkpoint_safe_globals)
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'allow_runner_checkpoint_globals', 'runner_checkpoint_safe_globals',
    'load_checkpoint_file'
]
