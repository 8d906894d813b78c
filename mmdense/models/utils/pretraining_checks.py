"""Refuse pre-training parts that would freeze normalisation layers or parameters.

Backbones borrowed from mmdet, mmseg and mmpretrain are written for fine-tuning:
mmdet's ``ResNet`` defaults to ``norm_eval=True``, whose ``train()`` puts every
BatchNorm back into eval mode, and ``frozen_stages`` stops gradients to the stem
and early stages. Either silently turns a pre-training run into another method
(BN that never normalises with batch statistics, shuffle-BN and split BN that do
nothing), so they are refused here with the config key and the fix, not trained.
"""
from typing import List

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from mmdense.utils import ConfigError

__all__ = ['norm_layers_in_eval', 'check_pretraining_part', 'check_norms_train']

# Norm layers whose train and eval modes compute different things (batch vs running
# statistics). GroupNorm and LayerNorm compute the same in both, so they are not listed.
_MODE_DEPENDENT_NORMS = (_BatchNorm, _InstanceNorm)


def norm_layers_in_eval(module: nn.Module) -> List[str]:
    """Names of the mode-dependent norm layers under ``module`` that are in eval mode."""
    return [name for name, m in module.named_modules()
            if isinstance(m, _MODE_DEPENDENT_NORMS) and not m.training]


def _first_and_count(names: List[str]) -> str:
    more = f' and {len(names) - 1} more' if len(names) > 1 else ''
    return f'{names[0] or "<root>"}{more}'


def check_pretraining_part(part: nn.Module, key: str) -> None:
    """Raise if ``part`` would not train all its norm layers and parameters.

    Checks, in this order: a ``norm_eval`` flag that is set, a ``frozen_stages``
    of 0 or more, parameters that do not require gradients (e.g. ``norm_cfg``
    with ``requires_grad=False``), and norm layers still in eval mode after
    ``part.train()`` (whatever the backbone calls the option). The mode of
    ``part`` is restored afterwards.

    Args:
        part: An online part of a pre-training model (backbone, neck, ...).
        key: Its config key, e.g. ``'model.backbone'``, named in the error.

    Raises:
        ConfigError: One line naming the key and the fix.
    """
    name = type(part).__name__
    if getattr(part, 'norm_eval', False):
        raise ConfigError(
            f'{key}.norm_eval=True: {name}.train() keeps every BatchNorm in eval mode, so '
            'pre-training would never normalise with batch statistics (norm_eval=True is '
            f"the default of mmdet's ResNet, meant for fine-tuning); set {key}.norm_eval=False.")
    frozen_stages = getattr(part, 'frozen_stages', -1)
    if isinstance(frozen_stages, int) and frozen_stages >= 0:
        raise ConfigError(
            f'{key}.frozen_stages={frozen_stages}: {name} would not train its stem and first '
            f'{frozen_stages} stage(s) during pre-training; set {key}.frozen_stages=-1.')
    frozen = [n for n, p in part.named_parameters() if not p.requires_grad]
    if frozen:
        raise ConfigError(
            f'{key}: parameter {_first_and_count(frozen)} of {name} do(es) not require '
            'gradients, so pre-training would not train them; remove what freezes them (e.g. '
            f'requires_grad=False in {key}.norm_cfg).')
    was_training = part.training
    part.train()
    in_eval = norm_layers_in_eval(part)
    part.train(was_training)
    if in_eval:
        raise ConfigError(
            f'{key}: norm layer {_first_and_count(in_eval)} of {name} stay(s) in eval mode '
            f'after train(); pre-training needs batch statistics: turn off the option of {key} '
            'that freezes normalisation.')


def check_norms_train(model: nn.Module) -> None:
    """Raise if any mode-dependent norm layer of ``model`` is in eval mode.

    Called after ``model.train()``: in pre-training every encoder, the momentum
    (key) encoders included, normalises with batch statistics.

    Raises:
        ConfigError: Naming the first layer in eval mode.
    """
    in_eval = norm_layers_in_eval(model)
    if in_eval:
        raise ConfigError(
            f'{type(model).__name__}.train() left norm layer {_first_and_count(in_eval)} in eval '
            'mode; every encoder of a pre-training model, the momentum ones included, must '
            'normalise with batch statistics (check norm_eval of the backbone and neck configs).')
