"""mmdense: dense self-supervised visual pre-training on MMEngine."""
from .config_scope import register_config_scope
from .version import __version__

register_config_scope()

__all__ = ['__version__']
