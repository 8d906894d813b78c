import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.models.utils import FeatureQueue, build_momentum_copy, momentum_update


def test_queue_starts_normalised_and_wraps_around():
    torch.manual_seed(0)
    queue = FeatureQueue(length=5, dim=4)
    assert torch.allclose(queue.feats.norm(dim=1), torch.ones(5))
    first = F.normalize(torch.randn(3, 4), dim=1)
    second = F.normalize(torch.randn(3, 4), dim=1)
    old = queue.feats.clone()
    queue.enqueue(first)
    assert torch.equal(queue.feats[:3], first)
    assert torch.equal(queue.feats[3:], old[3:])
    assert queue.ptr.item() == 3
    queue.enqueue(second)
    # 3 + 3 keys into 5 slots: slots 3, 4 then 0 (the oldest) are overwritten.
    assert torch.equal(queue.feats[3:], second[:2])
    assert torch.equal(queue.feats[0], second[2])
    assert torch.equal(queue.feats[1:3], first[1:])
    assert queue.ptr.item() == 1


def test_queue_state_round_trips_and_rejects_oversized_batch():
    queue = FeatureQueue(length=4, dim=2)
    queue.enqueue(torch.ones(3, 2))
    restored = FeatureQueue(length=4, dim=2)
    restored.load_state_dict(queue.state_dict())
    assert torch.equal(restored.feats, queue.feats) and restored.ptr.item() == 3
    with pytest.raises(ValueError, match='queue_len'):
        queue.enqueue(torch.ones(5, 2))


def test_momentum_update_is_the_ema_formula():
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    target = build_momentum_copy(online)
    assert all(not p.requires_grad for p in target.parameters())
    with torch.no_grad():
        for p in target.parameters():
            p.normal_()
        target[1].running_mean.fill_(7.0)
    before = [p.clone() for p in target.parameters()]
    momentum_update(target, online, momentum=0.9)
    for b, q, k in zip(before, online.parameters(), target.parameters()):
        assert torch.allclose(k, 0.9 * b + 0.1 * q, atol=1e-6)
    # Buffers are the momentum network's own (not copied from the online one).
    assert torch.all(target[1].running_mean == 7.0)
    momentum_update(target, online, momentum=1.0)
    for b, q, k in zip(before, online.parameters(), target.parameters()):
        assert torch.allclose(k, 0.9 * b + 0.1 * q, atol=1e-6)


def test_momentum_update_rejects_mismatched_networks():
    with pytest.raises(ValueError, match='same architecture'):
        momentum_update(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)), 0.9)
