"""Tiled InfoNCE (ContrastiveHead chunk_size): same loss and gradients, less kept for backward."""
import copy

import pytest
import torch
import torch.nn.functional as F

from mmdense.models import DenseCL
from mmdense.models.heads import ContrastiveHead


def _inputs(rows=50, dim=8, negatives=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    query = F.normalize(torch.randn(rows, dim, generator=g, dtype=torch.float64), dim=1)
    pos = (query * F.normalize(torch.randn(rows, dim, generator=g, dtype=torch.float64),
                               dim=1)).sum(1, keepdim=True)
    queue = F.normalize(torch.randn(negatives, dim, generator=g, dtype=torch.float64), dim=1)
    return query.requires_grad_(), pos.detach().requires_grad_(), queue


def _loss_and_grads(head, query, pos, queue):
    query, pos = query.detach().requires_grad_(), pos.detach().requires_grad_()
    loss = head.loss_against_queue(query, pos, queue)
    loss.backward()
    return loss.detach(), query.grad, pos.grad


@pytest.mark.parametrize('chunk_size', [1, 7, 49, 50, 1000])
def test_tiled_loss_and_gradients_equal_the_plain_ones(chunk_size):
    query, pos, queue = _inputs()
    plain = ContrastiveHead(temperature=0.2)
    # The reference: the whole logits matrix at once through the plain loss.
    expected = plain.loss(pos, query @ queue.t())
    loss, grad_q, grad_pos = _loss_and_grads(ContrastiveHead(0.2, chunk_size), query, pos, queue)
    ref_loss, ref_q, ref_pos = _loss_and_grads(plain, query, pos, queue)
    assert torch.allclose(loss, expected.detach(), rtol=0, atol=1e-12)
    assert torch.allclose(loss, ref_loss, rtol=0, atol=1e-12)
    assert torch.allclose(grad_q, ref_q, rtol=0, atol=1e-12)
    assert torch.allclose(grad_pos, ref_pos, rtol=0, atol=1e-12)


def _bytes_kept_for_backward(head, query, pos, queue):
    """Bytes of the distinct tensors autograd holds between forward and backward."""
    kept = {}

    def pack(tensor):
        kept[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = head.loss_against_queue(query, pos, queue)
    held = sum(kept.values())  # before backward: what forward left for it
    loss.backward()
    return held


def test_tiling_keeps_one_chunk_of_logits_instead_of_all():
    query, pos, queue = _inputs(rows=512, dim=16, negatives=4096)
    plain = _bytes_kept_for_backward(ContrastiveHead(0.2), query, pos, queue)
    tiled = _bytes_kept_for_backward(ContrastiveHead(0.2, 64), query, pos, queue)
    logits_bytes = 512 * 4097 * 8  # one float64 copy of the full logits
    inputs_bytes = sum(t.numel() * 8 for t in (query, pos, queue))
    assert plain >= logits_bytes  # at least one full copy of the logits
    # Tiled: the inputs only; each chunk's logits exist only while it is replayed.
    assert tiled <= inputs_bytes


def test_densecl_with_tiled_head_matches_the_plain_one():
    torch.manual_seed(0)
    plain = DenseCL(
        backbone=dict(type='mmdet.ResNet', depth=18, base_channels=8, out_indices=(3, )),
        neck=dict(type='DenseCLNeck', in_channels=64, hid_channels=16, out_channels=8),
        head=dict(type='ContrastiveHead', temperature=0.2), queue_len=32, feat_dim=8)
    plain.init_weights()
    tiled = copy.deepcopy(plain)
    tiled.head.chunk_size = 5  # 2 images x 2 x 2 cells = 8 dense queries: two chunks
    views = [torch.randn(2, 3, 64, 64) for _ in range(2)]
    losses = {}
    for name, model in (('plain', plain), ('tiled', tiled)):
        out = model.loss(views)
        (out['loss_single'] + out['loss_dense']).backward()
        losses[name] = (out, {n: p.grad.clone() for n, p in model.named_parameters()
                              if p.grad is not None})
    (out_p, grads_p), (out_t, grads_t) = losses['plain'], losses['tiled']
    assert torch.allclose(out_p['loss_dense'], out_t['loss_dense'], atol=1e-6)
    assert torch.equal(out_p['loss_single'], out_t['loss_single'])
    assert grads_p.keys() == grads_t.keys() and grads_p
    for name in grads_p:
        assert torch.allclose(grads_p[name], grads_t[name], atol=1e-6, rtol=1e-4), name


def test_bad_chunk_size_is_refused():
    with pytest.raises(ValueError, match='chunk_size must be a positive'):
        ContrastiveHead(0.2, chunk_size=0)
