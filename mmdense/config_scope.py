"""``_base_ = 'mmdense::densecl/...py'``: mmdense's configs as bases, as ``mmdet::`` works.

MMEngine resolves ``<package>::<path>`` to ``<installed package>/.mim/configs/<path>`` for
the packages it lists in ``MODULE2PACKAGE``; mmdense adds itself on import. Its installed
path comes from ``pkg_resources``: ``<distribution location>/mmdense``, which for a PEP 660
editable install (``make setup``'s) is a folder that does not exist. The lookup therefore
falls back to the imported package's own folder, where ``setup.py`` links ``.mim``. MMEngine
has no hook for either, hence this small wrapper of its module-level function.
"""
import os.path as osp

__all__ = ['register_config_scope']


def register_config_scope() -> None:
    """Make ``mmdense::`` config paths resolve (idempotent)."""
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils

    config_utils.MODULE2PACKAGE.setdefault('mmdense', 'mmdense')
    original = config_module.get_installed_path
    if getattr(original, 'mmdense_fallback', False):
        return

    def get_installed_path(package: str) -> str:
        path = original(package)
        if package == 'mmdense' and not osp.isdir(osp.join(path, '.mim')):
            return osp.dirname(osp.abspath(__file__))
        return path

    get_installed_path.mmdense_fallback = True
    config_module.get_installed_path = get_installed_path
