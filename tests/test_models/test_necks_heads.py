import math

import torch

from mmdense.models import DenseCLNeck, InfoNCELoss, MoCoV2Neck, info_nce_autograd


def test_mocov2_neck_pools_then_projects():
    torch.manual_seed(0)
    neck = MoCoV2Neck(in_channels=8, hid_channels=16, out_channels=4)
    x = torch.randn(2, 8, 3, 3)
    (out, ) = neck((x, ))
    assert out.shape == (2, 4)
    assert torch.allclose(out, neck.mlp(x.mean(dim=(2, 3))))


def test_densecl_neck_outputs_global_dense_and_pooled_dense():
    torch.manual_seed(0)
    neck = DenseCLNeck(in_channels=8, hid_channels=16, out_channels=4)
    x = torch.randn(2, 8, 3, 3)
    global_emb, dense, pooled = neck((x, ))
    assert global_emb.shape == (2, 4) and dense.shape == (2, 4, 9) and pooled.shape == (2, 4)
    # The dense MLP is the same per-location MLP: check one cell by hand.
    w1, b1 = neck.dense_mlp[0].weight[:, :, 0, 0], neck.dense_mlp[0].bias
    w2, b2 = neck.dense_mlp[2].weight[:, :, 0, 0], neck.dense_mlp[2].bias
    cell = x[1, :, 2, 1]
    expected = w2 @ torch.relu(w1 @ cell + b1) + b2
    assert torch.allclose(dense[1, :, 2 * 3 + 1], expected, atol=1e-5)
    assert torch.allclose(pooled, dense.mean(dim=2))
    grid_neck = DenseCLNeck(8, 16, 4, num_grid=2)
    assert grid_neck((x, ))[1].shape == (2, 4, 4)


def test_infonce_loss_matches_hand_computed_infonce():
    pos = torch.tensor([[0.8], [0.1]])
    neg = torch.tensor([[0.2, -0.4, 0.0], [0.5, 0.3, -1.0]])
    expected = 0.0
    for p, ns in zip(pos[:, 0].tolist(), neg.tolist()):
        denom = math.exp(p / 0.5) + sum(math.exp(n / 0.5) for n in ns)
        expected += -math.log(math.exp(p / 0.5) / denom)
    expected /= 2
    assert abs(info_nce_autograd(pos, neg, 0.5).item() - expected) < 1e-6
    # The module form takes queries and negatives and computes the same loss.
    query = torch.eye(4)[:2]
    negatives = torch.eye(4)[2:]
    pos = torch.tensor([[0.8], [0.1]])
    assert torch.allclose(InfoNCELoss(0.5)(query, pos, negatives),
                          info_nce_autograd(pos, query @ negatives.t(), 0.5))
