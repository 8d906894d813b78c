import pytest
import torch
import torch.nn as nn

from mmdense.models import DenseCL
from mmdense.models.utils import SplitBatchNorm2d, convert_to_split_bn


def _reference_and_split(num_splits=4, momentum=0.1):
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(3, momentum=momentum)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    split = convert_to_split_bn(nn.Sequential(bn), num_splits)[0]
    return bn, split


def test_split_bn_normalises_each_sub_batch_with_its_own_statistics():
    bn, split = _reference_and_split()
    assert isinstance(split, SplitBatchNorm2d) and split.num_splits == 4
    x = torch.randn(8, 3, 5, 5) * 3 + 1
    out = split.train()(x)
    expected, means, vars_ = [], [], []
    for chunk in x.chunk(4):
        per_gpu = nn.BatchNorm2d(3)
        per_gpu.load_state_dict(bn.state_dict())
        expected.append(per_gpu.train()(chunk))
        means.append(per_gpu.running_mean)
        vars_.append(per_gpu.running_var)
    assert torch.allclose(out, torch.cat(expected), atol=1e-5)
    # Running statistics: the average of what the 4 'GPUs' would hold.
    assert torch.allclose(split.running_mean, torch.stack(means).mean(0), atol=1e-6)
    assert torch.allclose(split.running_var, torch.stack(vars_).mean(0), atol=1e-6)
    assert split.num_batches_tracked.item() == 1
    # It differs from whole-batch BN, which is the point.
    assert not torch.allclose(out, bn.train()(x), atol=1e-3)


def test_split_bn_eval_and_state_dict_are_plain_batchnorm():
    bn, split = _reference_and_split()
    x = torch.randn(8, 3, 4, 4)
    assert torch.equal(split.eval()(x), bn.eval()(x))
    assert split.state_dict().keys() == bn.state_dict().keys()
    out = split(x)
    out.sum().backward()
    assert split.weight.grad is not None and split.bias.grad is not None
    with pytest.raises(ValueError, match='not divisible'):
        split.train()(torch.randn(6, 3, 2, 2))


def test_bn_splits_converts_both_encoders_and_keeps_checkpoint_keys():
    cfg = dict(
        backbone=dict(type='mmdet.ResNet', depth=18, base_channels=8, out_indices=(3, ),
                      norm_eval=False, zero_init_residual=False),
        neck=dict(type='DenseCLNeck', in_channels=64, hid_channels=16, out_channels=8),
        loss=dict(type='InfoNCELoss'), queue_len=8, feat_dim=8)
    plain, split = DenseCL(**cfg), DenseCL(**cfg, bn_splits=2)
    for encoder in (split.backbone, split.momentum_backbone):
        bns = [m for m in encoder.modules() if isinstance(m, nn.BatchNorm2d)]
        assert bns and all(isinstance(m, SplitBatchNorm2d) and m.num_splits == 2 for m in bns)
    assert plain.state_dict().keys() == split.state_dict().keys()
    losses = split.loss([torch.randn(4, 3, 64, 64), torch.randn(4, 3, 64, 64)])
    assert all(torch.isfinite(v) for v in losses.values())
