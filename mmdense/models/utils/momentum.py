"""Momentum (EMA) copies of online networks, as MoCo/BYOL-style key encoders."""
import copy

import torch
import torch.nn as nn


def build_momentum_copy(module: nn.Module) -> nn.Module:
    """Deep-copy ``module`` as a momentum encoder that never receives gradients.

    Its buffers (BN running statistics) stay its own: the key encoder runs in
    train mode on key batches, as in the MoCo reference.
    """
    momentum_module = copy.deepcopy(module)
    momentum_module.requires_grad_(False)
    return momentum_module


@torch.no_grad()
def momentum_update(momentum_module: nn.Module, online_module: nn.Module, momentum: float) -> None:
    """EMA update ``theta_k <- m * theta_k + (1 - m) * theta_q`` of all parameters.

    One fused ``torch._foreach_lerp_`` call over the parameter lists instead of a
    Python loop of per-tensor kernels (about 160 tensors for a ResNet-50).

    Args:
        momentum_module: The momentum (key) network, updated in place.
        online_module: The online (query) network, same architecture.
        momentum: ``m`` in [0, 1]; 1 keeps the momentum network frozen.
    """
    target = list(momentum_module.parameters())
    source = list(online_module.parameters())
    if len(target) != len(source):
        raise ValueError('momentum_update needs two networks of the same architecture, got '
                         f'{len(target)} and {len(source)} parameter tensors.')
    if not target:  # a parameter-free network (e.g. identity); foreach rejects empty lists
        return
    torch._foreach_lerp_(target, source, 1.0 - momentum)
