"""Shared test set-up: every test runs with mmdense's registries and default scope."""
from mmdense.utils import register_all_modules

register_all_modules()
