"""Shared test set-up: every test runs with mmdense's registries and default scope."""
from mmdense.utils import register_all_modules

register_all_modules()


def pytest_collection_modifyitems(items):
    """Run the fresh-machine set-up rehearsal first, so a set-up that a new machine cannot
    complete is reported in the first minutes of CI, not after the whole suite."""
    items.sort(key=lambda item: 0 if 'test_setup_cold_path' in item.nodeid else 1)
