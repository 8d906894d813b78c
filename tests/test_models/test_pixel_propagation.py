"""Pixel propagation module and the 1x1-conv MLP neck."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.models.necks import MLP2dNeck, PixelPropagationModule


def hand_ppm(x: torch.Tensor, gamma: float) -> torch.Tensor:
    """Loop form of y_i = sum_j max(cos(x_i, x_j), 0)^gamma * normalise(x_j), one image."""
    c, h, w = x.shape
    cells = x.reshape(c, h * w).t()
    out = torch.zeros_like(cells)
    for i in range(h * w):
        for j in range(h * w):
            s = max(F.cosine_similarity(cells[i], cells[j], dim=0).item(), 0.0)**gamma
            out[i] += s * cells[j] / cells[j].norm()
    return out.t().reshape(c, h, w)


@pytest.mark.parametrize('layers, transform', [(0, nn.Identity), (1, nn.Conv2d), (2, MLP2dNeck)])
def test_shapes_and_transform_layers(layers, transform):
    ppm = PixelPropagationModule(8, gamma=2, num_transform_layers=layers)
    assert isinstance(ppm.value_transform, transform)
    assert ppm(torch.randn(2, 8, 3, 4)).shape == (2, 8, 3, 4)


def test_identity_ppm_equals_hand_computation_and_gamma_sharpens():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 2, 3, dtype=torch.float64)
    for gamma in (1.0, 2.0, 4.0):
        ppm = PixelPropagationModule(4, gamma=gamma, num_transform_layers=0)
        assert torch.allclose(ppm(x)[0], hand_ppm(x[0], gamma), atol=1e-12)
    sim2 = PixelPropagationModule(4, gamma=2, num_transform_layers=0).similarity(x)
    sim4 = PixelPropagationModule(4, gamma=4, num_transform_layers=0).similarity(x)
    assert (sim2 >= 0).all() and torch.allclose(torch.diagonal(sim2, dim1=1, dim2=2),
                                                torch.ones(1, 6, dtype=torch.float64))
    # Off-diagonal weights lie in [0, 1): a larger gamma shrinks them, so propagation
    # concentrates on the most similar pixels.
    off = ~torch.eye(6, dtype=torch.bool)
    assert (sim4[0][off] <= sim2[0][off]).all() and (sim4[0][off] < sim2[0][off]).any()
    assert torch.allclose(sim4, sim2**2)


def test_similarity_is_clamped_at_zero():
    x = torch.zeros(1, 2, 1, 2)
    x[0, :, 0, 0] = torch.tensor([1., 0.])
    x[0, :, 0, 1] = torch.tensor([-1., 0.])  # cosine -1 with the first pixel
    sim = PixelPropagationModule(2, gamma=1, num_transform_layers=0).similarity(x)
    assert torch.equal(sim[0], torch.eye(2))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='num_transform_layers'):
        PixelPropagationModule(8, num_transform_layers=3)
    with pytest.raises(ValueError, match='in_channels'):
        MLP2dNeck(16, 8, 4)(torch.randn(1, 8, 2, 2))


def test_mlp2d_is_per_pixel_mlp():
    neck = MLP2dNeck(6, 5, 3).eval()
    x = torch.randn(2, 6, 2, 2)
    out = neck((x, ))  # backbone tuples: the last map is used
    assert out.shape == (2, 3, 2, 2)
    # Each output pixel depends only on its own input pixel (1x1 convolutions).
    x2 = x.clone()
    x2[:, :, 0, 0] += 1
    changed = (neck(x2) - out).abs().sum(dim=1) > 0
    assert changed[:, 0, 0].all() and not changed[:, 1:, :].any() and not changed[:, 0, 1].any()
