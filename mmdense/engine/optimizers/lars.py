"""LARS (You et al., 2017) in the form PixPro/BYOL train with."""
from typing import Callable, Iterable, Optional

import torch
from torch.optim import Optimizer

from mmdense.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class LARS(Optimizer):
    """SGD with momentum on layer-wise trust-ratio scaled gradients.

    For every adapted parameter ``w`` with gradient ``g``:
    ``g <- g + wd * w``, then ``g <- g * eta * ||w|| / (||g|| + eps)`` (left
    unscaled when either norm is 0), then the usual SGD momentum step
    ``buf <- mu * buf + g; w <- w - lr * buf``. Excluded parameters (all
    one-dimensional ones, i.e. biases and norm weights, when ``exclude_1d``;
    or a param group with ``lars_exclude=True``) skip both the decay and the
    trust ratio: plain momentum SGD. That is the PixPro reference (its
    ``add_weight_decay`` + ``LARS`` wrapper of ``SGD``) in one class; it is
    written here because MMEngine 0.10.7 and torch register no LARS.

    Args:
        params: Parameters or param groups.
        lr: Learning rate.
        momentum: SGD momentum ``mu`` (0.9).
        weight_decay: ``wd`` of adapted parameters (1e-5 in PixPro).
        trust_coef: ``eta`` (0.001).
        eps: Added to the gradient norm (1e-8).
        exclude_1d: Exclude one-dimensional parameters from decay and adaptation.
    """

    def __init__(self,
                 params: Iterable,
                 lr: float,
                 momentum: float = 0.9,
                 weight_decay: float = 0.0,
                 trust_coef: float = 0.001,
                 eps: float = 1e-8,
                 exclude_1d: bool = True) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0 or trust_coef < 0 or eps < 0:
            raise ValueError('LARS needs non-negative lr, momentum, weight_decay, trust_coef and '
                             f'eps; got {lr}, {momentum}, {weight_decay}, {trust_coef}, {eps}')
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        trust_coef=trust_coef, eps=eps, exclude_1d=exclude_1d,
                        lars_exclude=False)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Optional[Callable] = None):
        """One update; returns the closure's loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad
                excluded = group['lars_exclude'] or (group['exclude_1d'] and p.ndim <= 1)
                if not excluded:
                    if group['weight_decay'] != 0:
                        grad = grad.add(p, alpha=group['weight_decay'])
                    p_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(grad)
                    ratio = torch.where((p_norm > 0) & (g_norm > 0),
                                        group['trust_coef'] * p_norm / (g_norm + group['eps']),
                                        torch.ones_like(p_norm))
                    grad = grad * ratio
                if group['momentum'] != 0:
                    state = self.state[p]
                    if 'momentum_buffer' not in state:
                        state['momentum_buffer'] = grad.clone()
                    else:
                        state['momentum_buffer'].mul_(group['momentum']).add_(grad)
                    grad = state['momentum_buffer']
                p.add_(grad, alpha=-group['lr'])
        return loss
