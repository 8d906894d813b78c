"""mmpretrain's own configs and models, the independent reference for MoCo v2 and DenseCL.

Used by the step benchmark (``mmpretrain::<path>`` configs) and the parity tests. mmpretrain's
registry must be the one that builds, whatever the current default scope is: under the
``mmdense`` scope MMEngine would resolve ``DenseCL`` to ours.
"""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

__all__ = ['MMPRETRAIN_PREFIX', 'mmpretrain_config', 'build_mmpretrain_model']

MMPRETRAIN_PREFIX = 'mmpretrain::'


def mmpretrain_config(name: str) -> Config:
    """Load ``mmpretrain::<path>`` (or ``<path>``) from the configs its wheel ships.

    Args:
        name: E.g. ``'mmpretrain::densecl/densecl_resnet50_8xb32-coslr-200e_in1k.py'``.

    Returns:
        Config: The loaded config.
    """
    import mmpretrain

    rel = name[len(MMPRETRAIN_PREFIX):] if name.startswith(MMPRETRAIN_PREFIX) else name
    path = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs', rel)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{name}: no such config in mmpretrain {mmpretrain.__version__} '
                                f'({path}); list them under {osp.dirname(path)}.')
    return Config.fromfile(path)


def build_mmpretrain_model(model_cfg: dict) -> torch.nn.Module:
    """Build ``model_cfg`` with mmpretrain's registry (not initialised)."""
    import mmpretrain.models  # noqa: F401  (registers mmpretrain's models)
    from mmpretrain.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(model_cfg)
