"""info_nce / InfoNCELoss: the plain loss's values and gradients,
computed in forward so that nothing of size (queries x negatives) is kept for backward."""
import copy

import pytest
import torch
import torch.nn.functional as F

from mmdense.analysis.held_for_backward import held_for_backward
from mmdense.models import DenseCL, MoCoV2
from mmdense.models.losses import InfoNCELoss, info_nce, info_nce_autograd


def _inputs(rows=50, dim=8, negatives=300, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    query = F.normalize(torch.randn(rows, dim, generator=g, dtype=dtype), dim=1)
    pos = (query * F.normalize(torch.randn(rows, dim, generator=g, dtype=dtype),
                               dim=1)).sum(1, keepdim=True)
    queue = F.normalize(torch.randn(negatives, dim, generator=g, dtype=dtype), dim=1)
    return query.requires_grad_(), pos.detach().requires_grad_(), queue


def _plain(query, pos, negatives, temperature=0.2):
    """The reference: cross-entropy over the whole logits matrix through autograd."""
    return info_nce_autograd(pos, query @ negatives.t(), temperature)


@pytest.mark.parametrize('chunk_size', [None, 1, 7, 49, 50, 1000])
def test_loss_and_gradients_equal_the_plain_ones(chunk_size):
    query, pos, queue = _inputs()
    queue.requires_grad_()  # also checks the gradient with respect to the negatives
    loss = info_nce(query, pos, queue, 0.2, chunk_size)
    grads = torch.autograd.grad(3 * loss, (query, pos, queue))
    ref = _plain(query, pos, queue)
    ref_grads = torch.autograd.grad(3 * ref, (query, pos, queue))
    assert loss.dtype == torch.float64
    assert torch.allclose(loss, ref, rtol=0, atol=1e-12)
    for got, want in zip(grads, ref_grads):
        assert torch.allclose(got, want, rtol=0, atol=1e-12)


def test_gradcheck():
    query, pos, queue = _inputs(rows=6, dim=4, negatives=9)
    queue.requires_grad_()
    assert torch.autograd.gradcheck(lambda q, p, n: info_nce(q, p, n, 0.3, 4), (query, pos, queue))


def test_negatives_may_change_in_place_before_backward():
    """MoCo/DenseCL enqueue keys into the queue between the loss and backward."""
    query, pos, queue = _inputs()
    expected = torch.autograd.grad(_plain(query, pos, queue), query)[0]
    bank = queue.clone()
    loss = info_nce(query, pos, bank, 0.2)
    bank.normal_()  # the queue update
    assert torch.allclose(torch.autograd.grad(loss, query)[0], expected, rtol=0, atol=1e-12)


def test_a_second_backward_with_retain_graph_gives_the_same_gradients():
    query, pos, queue = _inputs()
    loss = info_nce(query, pos, queue, 0.2)
    first = torch.autograd.grad(loss, query, retain_graph=True)[0]
    second = torch.autograd.grad(loss, query)[0]
    assert torch.equal(first, second)


def test_without_grad_it_only_computes_the_loss():
    query, pos, queue = _inputs()
    with torch.no_grad():
        loss = info_nce(query, pos, queue, 0.2, 7)
    assert loss.grad_fn is None
    assert torch.allclose(loss, _plain(query, pos, queue), rtol=0, atol=1e-12)


def test_only_the_gradients_are_kept_for_backward():
    query, pos, queue = _inputs(rows=512, dim=16, negatives=4096)
    plain = held_for_backward(_plain(query, pos, queue))
    ours = held_for_backward(info_nce(query, pos, queue, 0.2, 64))
    assert plain >= 512 * 4097 * 8  # autograd keeps at least one fp64 copy of the logits
    # The query and positive gradients (counted, so the walk does see them), nothing else.
    assert ours == (512 * 16 + 512) * 8


def test_bf16_autocast_keeps_an_fp32_softmax():
    query, pos, queue = _inputs(rows=64, dim=32, negatives=4096, dtype=torch.float32)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = info_nce(query, pos.to(torch.bfloat16), queue, 0.2)
    grad = torch.autograd.grad(loss, query)[0]
    assert loss.dtype == torch.float32 and grad.dtype == query.dtype
    ref = _plain(query, pos, queue)
    assert abs(loss.item() - ref.item()) < 0.05 * ref.item()
    ref_grad = torch.autograd.grad(ref, query)[0]
    assert F.cosine_similarity(grad.flatten(), ref_grad.flatten(), dim=0) > 0.99


def test_bad_shapes_are_refused():
    query, pos, queue = _inputs()
    with pytest.raises(ValueError, match=r'query \(M, D\), pos \(M, 1\)'):
        info_nce(query, pos[:10], queue, 0.2)
    with pytest.raises(ValueError, match='no queries'):
        info_nce(query[:0], pos[:0], queue, 0.2)
    with pytest.raises(ValueError, match='chunk_size must be a positive'):
        InfoNCELoss(0.2, chunk_size=0)


def _plain_loss(model):
    """The model with its queue loss replaced by the plain autograd loss."""
    model = copy.deepcopy(model)
    temperature = model.criterion.temperature
    model.criterion.forward = lambda q, p, n: info_nce_autograd(p, q @ n.clone().t(), temperature)
    return model


@pytest.mark.parametrize('chunk_size', [None, 5])
def test_densecl_and_mocov2_losses_and_gradients_match_the_plain_loss(chunk_size):
    torch.manual_seed(0)
    backbone = dict(type='mmdet.ResNet', depth=18, base_channels=8, out_indices=(3, ),
                    norm_eval=False)
    loss = dict(type='InfoNCELoss', temperature=0.2, chunk_size=chunk_size)
    models = [
        DenseCL(backbone=backbone, loss=loss, queue_len=32, feat_dim=8,
                neck=dict(type='DenseCLNeck', in_channels=64, hid_channels=16, out_channels=8)),
        MoCoV2(backbone=backbone, loss=loss, queue_len=32, feat_dim=8,
               neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=16, out_channels=8)),
    ]
    views = [torch.randn(2, 3, 64, 64) for _ in range(2)]
    for model in models:
        model.init_weights()
        results, candidates = [], (model, _plain_loss(model))
        for candidate in candidates:
            out = candidate.loss(views)
            sum(out.values()).backward()
            results.append((out, {n: p.grad for n, p in candidate.named_parameters()
                                  if p.grad is not None}))
        (out, grads), (ref_out, ref_grads) = results
        for key in out:
            assert torch.allclose(out[key], ref_out[key], atol=1e-6), key
        assert grads.keys() == ref_grads.keys() and grads
        for name in grads:
            assert torch.allclose(grads[name], ref_grads[name], atol=1e-6, rtol=1e-4), name
        assert torch.equal(candidates[0].queue.feats, candidates[1].queue.feats)  # same keys
