"""Command-line entry points report a user's mistake in one line, not a traceback."""
import sys
from typing import Callable

from .checkpoint import CheckpointFileError
from .preflight import ConfigError

__all__ = ['USER_ERRORS', 'run_cli']

# Errors whose message already names the file or key at fault and the fix.
USER_ERRORS = (ConfigError, CheckpointFileError)


def run_cli(main: Callable[[], object]) -> int:
    """Call ``main()``; print a user error as ``error: <message>`` and return 2, else 0.

    Any other exception propagates with its traceback: it is a bug, not a mistake.
    """
    try:
        main()
    except USER_ERRORS as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    return 0
