"""Split-batch BatchNorm: emulates multi-GPU shuffle-BN on a single device."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class SplitBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics come from ``num_splits`` sub-batches.

    On 8 GPUs, MoCo's BN sees per-GPU batches of 32 and shuffle-BN puts other
    samples into the key encoder's sub-batches than into the query's. On one
    device with batch 256 plain BN sees all 256 at once and shuffling changes
    nothing. Splitting the batch into 8 contiguous sub-batches of 32 (with the
    key batch shuffled before the key encoder) restores the 8-GPU statistics
    exactly. Evaluation and the state dict are those of ``nn.BatchNorm2d``, so
    checkpoints transfer unchanged.

    Args:
        num_features: Channels ``C``.
        num_splits: Sub-batches per batch; the batch size must be divisible by it.
        **kwargs: ``nn.BatchNorm2d`` arguments (``eps``, ``momentum``, ...).
    """

    def __init__(self, num_features: int, num_splits: int, **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        if num_splits < 1:
            raise ValueError(f'num_splits must be >= 1, got {num_splits}.')
        if not self.track_running_stats:
            raise ValueError('SplitBatchNorm2d needs track_running_stats=True.')
        self.num_splits = num_splits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.num_splits == 1:
            return super().forward(x)
        n, c, h, w = x.shape
        s = self.num_splits
        if n % s:
            raise ValueError(
                f'SplitBatchNorm2d: batch size {n} is not divisible by num_splits={s}; '
                'change the batch size or bn_splits.')
        # Sub-batch i (samples i*n/s ... (i+1)*n/s - 1) becomes channel group i, so one
        # batch_norm call normalises every sub-batch with its own statistics.
        grouped = x.view(s, n // s, c, h, w).transpose(0, 1).reshape(n // s, s * c, h, w)
        self.num_batches_tracked.add_(1)
        momentum = self.momentum
        if momentum is None:  # cumulative average, as nn.BatchNorm2d does
            momentum = 1.0 / float(self.num_batches_tracked)
        running_mean = self.running_mean.repeat(s)
        running_var = self.running_var.repeat(s)
        out = F.batch_norm(grouped, running_mean, running_var,
                           self.weight.repeat(s) if self.affine else None,
                           self.bias.repeat(s) if self.affine else None, True, momentum, self.eps)
        with torch.no_grad():
            self.running_mean.copy_(running_mean.view(s, c).mean(dim=0))
            self.running_var.copy_(running_var.view(s, c).mean(dim=0))
        return out.view(n // s, s, c, h, w).transpose(0, 1).reshape(n, c, h, w)

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, num_splits={self.num_splits}'


def convert_to_split_bn(module: nn.Module, num_splits: int) -> nn.Module:
    """Replace every plain ``nn.BatchNorm2d`` in ``module`` by :class:`SplitBatchNorm2d`.

    Parameters and buffers are carried over; SyncBN and other subclasses are left
    alone (they already see cross-device statistics).

    Returns:
        The converted module (``module`` itself unless it is a BatchNorm2d).
    """
    if type(module) is nn.BatchNorm2d:
        split = SplitBatchNorm2d(module.num_features, num_splits, eps=module.eps,
                                 momentum=module.momentum, affine=module.affine)
        split.load_state_dict(module.state_dict())
        split.train(module.training)
        split.requires_grad_(any(p.requires_grad for p in module.parameters()))
        return split
    for name, child in module.named_children():
        module.add_module(name, convert_to_split_bn(child, num_splits))
    return module
