"""LARS: trust-ratio step against a hand computation; biases and norms get plain SGD."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

from mmdense.engine.optimizers import LARS
from mmdense.utils import register_all_modules


def test_adapted_parameter_step_matches_hand_computation():
    w = nn.Parameter(torch.tensor([[3.0, 4.0]], dtype=torch.float64))  # ||w|| = 5
    opt = LARS([w], lr=0.5, momentum=0.9, weight_decay=0.1, trust_coef=0.01, eps=0.0)
    w.grad = torch.tensor([[0.0, 1.6]], dtype=torch.float64)
    # g + wd * w = (0.3, 2.0); ratio = 0.01 * 5 / ||(0.3, 2.0)||.
    g = torch.tensor([[0.3, 2.0]], dtype=torch.float64)
    ratio = 0.01 * 5.0 / g.norm()
    buf = g * ratio
    expected = torch.tensor([[3.0, 4.0]], dtype=torch.float64) - 0.5 * buf
    opt.step()
    assert torch.allclose(w.data, expected, atol=1e-15)
    # Second step: the momentum buffer carries the first scaled gradient.
    w.grad = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    g2 = w.grad + 0.1 * w.data
    buf = 0.9 * buf + g2 * (0.01 * w.data.norm() / g2.norm())
    expected = w.data - 0.5 * buf
    opt.step()
    assert torch.allclose(w.data, expected, atol=1e-15)


def test_one_dimensional_and_excluded_groups_get_plain_sgd():
    bias = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    weight = nn.Parameter(torch.tensor([[1.0, 1.0]], dtype=torch.float64))
    opt = LARS([dict(params=[bias]), dict(params=[weight], lars_exclude=True)], lr=0.1,
               momentum=0.9, weight_decay=0.5)
    bias.grad = torch.tensor([0.2, 0.4], dtype=torch.float64)
    weight.grad = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    ref_params = [p.detach().clone().requires_grad_() for p in (bias, weight)]
    ref = torch.optim.SGD(ref_params, lr=0.1, momentum=0.9)  # no decay, no trust ratio
    for _ in range(2):
        for p, r in zip((bias, weight), ref_params):
            r.grad = p.grad.clone()
        opt.step()
        ref.step()
        for p, r in zip((bias, weight), ref_params):
            assert torch.allclose(p.data, r.data, atol=1e-15)


def test_zero_norm_parameter_uses_unit_ratio():
    w = nn.Parameter(torch.zeros(2, 2, dtype=torch.float64))
    opt = LARS([w], lr=1.0, momentum=0.0, trust_coef=0.001)
    w.grad = torch.ones(2, 2, dtype=torch.float64)
    opt.step()
    assert torch.equal(w.data, -torch.ones(2, 2, dtype=torch.float64))


def test_builds_from_optim_wrapper_config():
    register_all_modules()
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(type='LARS', lr=4.0, momentum=0.9, weight_decay=1e-5)))
    assert isinstance(wrapper.optimizer, LARS)
    assert wrapper.optimizer.defaults['trust_coef'] == 0.001
    with pytest.raises(ValueError, match='non-negative'):
        LARS(model.parameters(), lr=-1.0)
