"""VICRegL's global and local criteria: float64 hand computations, a re-statement of the
authors' forward pass, and lightly's ``VICRegLLoss`` where the definitions agree (and where
they knowingly do not)."""
import math

import pytest
import torch
from lightly.loss import VICRegLLoss

from mmdense.models.losses import VICRegLLocalLoss, VICRegLoss
from mmdense.models.losses.vicreg_loss import vicreg_loss
from mmdense.models.losses.vicregl_local_loss import vicregl_local_loss
from mmdense.models.utils.vicregl_matching import nearest_neighbour_pairs

EPS = 1e-4


def _total(terms):
    return sum(terms.values())


# --- an independent re-statement of the authors' main_vicregl.py, float64, loops ---------------


def _authors_pairs(dist, num_matches):
    """Per image: each input's nearest candidate; the num_matches closest, in input order."""
    keep_in, keep_cand = [], []
    for d in dist:  # (S_in, S_cand)
        nn_val, nn_idx = d.min(dim=1)
        count = d.shape[0] if num_matches is None else num_matches
        ranked = sorted(range(d.shape[0]), key=lambda k: float(nn_val[k].detach()))[:count]
        kept = sorted(ranked)
        keep_in.append(kept)
        keep_cand.append([int(nn_idx[k]) for k in kept])
    return torch.tensor(keep_in), torch.tensor(keep_cand)


def _authors_vicreg_on_matches(x, y):
    """The authors' ``_vicreg_loss`` on (B, K, C): per-position batch statistics."""
    inv = 25 * ((x - y)**2).mean()
    var = cov = 0.0
    for z in (x, y):
        std = torch.sqrt(z.var(dim=0) + EPS)  # (K, C)
        var = var + 25 * torch.relu(1 - std).mean() / 2
        per_pos = []
        for k in range(z.shape[1]):
            c = torch.cov(z[:, k].T)  # (C, C), unbiased
            per_pos.append((c**2).sum() - (torch.diagonal(c)**2).sum())
        cov = cov + torch.stack(per_pos).mean() / z.shape[2] / 2
    return inv, var, cov


def _authors_local(maps, locs, num_matches=(20, 4), l2_all=True):
    total, count = 0.0, 0
    for i in range(2):
        for j in range(len(maps)):
            if j == i:
                continue
            a, b = maps[i], maps[j]
            l2 = (None, None) if l2_all else num_matches
            for dist, nm in ((torch.cdist(a, b), l2), (torch.cdist(locs[i], locs[j]), num_matches)):
                for src, dst, d, n in ((a, b, dist, nm[0]), (b, a, dist.transpose(1, 2), nm[1])):
                    ki, kc = _authors_pairs(d, n)
                    x = torch.stack([src[bi, ki[bi]] for bi in range(src.shape[0])])
                    y = torch.stack([dst[bi, kc[bi]] for bi in range(dst.shape[0])])
                    total = total + sum(_authors_vicreg_on_matches(x, y)) / 2
            count += 1
    return total / count


def _authors_global(emb):
    views = len(emb)
    pairs = [(i, j) for i in range(2) for j in range(views) if j != i]
    inv = 25 * sum(((emb[i] - emb[j])**2).mean() for i, j in pairs) / len(pairs)
    var = cov = 0.0
    for z in emb:
        z = z - z.mean(dim=0)
        var = var + torch.relu(1 - torch.sqrt(z.var(dim=0) + EPS)).mean()
        c = z.T @ z / (z.shape[0] - 1)
        cov = cov + ((c**2).sum() - (torch.diagonal(c)**2).sum()) / z.shape[1]
    return inv + 25 * var / views + cov / views


# --- hand computations ---------------------------------------------------------------------------


def test_global_term_by_hand():
    """Two views of 3 samples in 2-D, every number from Python floats."""
    a = [[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]]
    b = [[0.5, 0.5], [0.0, 1.0], [1.0, -1.0]]
    sq = sum((p - q)**2 for ra, rb in zip(a, b) for p, q in zip(ra, rb)) / 6
    var = cov = 0.0
    for view in (a, b):
        cols = list(zip(*view))
        means = [sum(c) / 3 for c in cols]
        variances = [sum((v - m)**2 for v in c) / 2 for c, m in zip(cols, means)]
        var += sum(max(0.0, 1 - math.sqrt(v + EPS)) for v in variances) / 2
        c01 = sum((x - means[0]) * (y - means[1]) for x, y in view) / 2
        cov += 2 * c01**2 / 2  # two off-diagonal entries, divided by the dimension 2
    expected = dict(inv=25 * sq, var=25 * var / 2, cov=cov / 2)
    got = VICRegLoss()([torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)])
    for key, value in expected.items():
        assert got[key].item() == pytest.approx(value, rel=1e-12), key


def test_local_matching_by_hand():
    """1x2 grids: the matches are read off the coordinates, the loss from Python floats."""
    # Cells of view 0 at x = 0 and 10, of view 1 at x = 1 and 12 (same row): location matches
    # are 0->0 (distance 1) and 1->1 (2) both ways; keeping 1 pair keeps the first each way.
    locs = [torch.tensor([[[0., 0.], [10., 0.]]] * 2, dtype=torch.float64),
            torch.tensor([[[1., 0.], [12., 0.]]] * 2, dtype=torch.float64)]
    # Features: position 1 of view 1 is nearest to position 0 of view 0 and vice versa, so the
    # feature matching (all pairs kept) crosses: 0->1, 1->0 in both directions.
    v0 = [[[0., 0.], [5., 5.]], [[1., 0.], [6., 4.]]]
    v1 = [[[5., 4.], [0., 1.]], [[6., 5.], [1., 1.]]]
    maps = [torch.tensor(v0, dtype=torch.float64), torch.tensor(v1, dtype=torch.float64)]

    def vicreg(xs, ys):  # xs, ys: [image][position][channel]
        n, k = len(xs), len(xs[0])
        inv = 25 * sum((p - q)**2 for xi, yi in zip(xs, ys) for xp, yp in zip(xi, yi)
                       for p, q in zip(xp, yp)) / (n * k * 2)
        var = cov = 0.0
        for z in (xs, ys):
            for pos in range(k):
                rows = [z[b][pos] for b in range(n)]
                cols = list(zip(*rows))
                means = [sum(c) / n for c in cols]
                variances = [sum((v - m)**2 for v in c) / (n - 1) for c, m in zip(cols, means)]
                var += sum(max(0.0, 1 - math.sqrt(v + EPS)) for v in variances) / (2 * k * 2)
                c01 = sum((r[0] - means[0]) * (r[1] - means[1]) for r in rows) / (n - 1)
                cov += (2 * c01**2 / 2) / k / 2
        return inv + 25 * var + cov

    def pick(view, positions):
        return [[view[b][p] for p in positions] for b in range(2)]

    total = 0.0
    for i, j in ((0, 1), (1, 0)):  # both global views are anchors
        vi, vj = (v0, v1) if i == 0 else (v1, v0)
        feature = (vicreg(pick(vi, [0, 1]), pick(vj, [1, 0])) +
                   vicreg(pick(vj, [0, 1]), pick(vi, [1, 0]))) / 2
        location = (vicreg(pick(vi, [0]), pick(vj, [0])) + vicreg(pick(vj, [0]), pick(vi, [0]))) / 2
        total += feature + location
    got = VICRegLLocalLoss(num_matches=(1, 1))(maps, locs)
    assert _total(got).item() == pytest.approx(total / 2, rel=1e-12)


def test_kept_pairs_are_in_spatial_order_and_ties_keep_the_lower_index():
    dist = torch.tensor([[[5., 9.], [1., 7.], [3., 0.5], [1., 2.]]])  # nearest: 5, 1, .5, 1
    inp, cand = nearest_neighbour_pairs(dist, 3)
    assert inp.tolist() == [[1, 2, 3]] and cand.tolist() == [[0, 1, 0]]
    inp, _ = nearest_neighbour_pairs(dist, 1)
    assert inp.tolist() == [[2]]
    # A tie between positions 1 and 3 (both 1.0) for the second place keeps position 1.
    inp, _ = nearest_neighbour_pairs(dist, 2)
    assert inp.tolist() == [[1, 2]]
    # More matches than positions keeps them all (the authors' code would fail).
    assert nearest_neighbour_pairs(dist, 20)[0].tolist() == [[0, 1, 2, 3]]


# --- the authors' computation and lightly ---------------------------------------------------------


def _random_views(seed, sizes=((2, 2), (2, 2), (1, 2)), batch=5, channels=3):
    g = torch.Generator().manual_seed(seed)
    maps = [torch.randn(batch, h * w, channels, generator=g, dtype=torch.float64)
            for h, w in sizes]
    locs = [torch.rand(batch, h * w, 2, generator=g, dtype=torch.float64) * 100 for h, w in sizes]
    return maps, locs, sizes


def _lightly_local(maps, locs, sizes, num_matches):
    """lightly's local term alone (its alpha=0), maps and grids as (B, H, W, C)."""
    crit = VICRegLLoss(alpha=0.0, num_matches=num_matches)
    feats = [(m.new_zeros(m.shape[0], 1), m.view(m.shape[0], h, w, -1))
             for m, (h, w) in zip(maps, sizes)]
    grids = [g.view(g.shape[0], h, w, 2) for g, (h, w) in zip(locs, sizes)]
    return crit(feats[:2], grids[:2], feats[2:], grids[2:]).squeeze()


def test_global_term_equals_lightly_and_the_authors():
    g = torch.Generator().manual_seed(0)
    emb = [torch.randn(6, 5, generator=g, dtype=torch.float64) * s for s in (1.0, 0.5, 2.0, 0.3)]
    ours = _total(vicreg_loss(emb))
    lightly = VICRegLLoss(alpha=1.0)._global_loss([(e, None) for e in emb[:2]],
                                                  [(e, None) for e in emb[2:]])
    assert ours.item() == pytest.approx(lightly.item(), rel=1e-12)
    assert ours.item() == pytest.approx(_authors_global(emb).item(), rel=1e-12)


def test_local_term_equals_lightly_where_the_definitions_agree():
    """lightly keeps num_matches feature pairs and orders them by distance; with
    ``l2_all_matches=False`` and distances that grow with the spatial index in every image
    (so distance order is spatial order) both compute the same number."""
    g = torch.Generator().manual_seed(1)
    batch, positions, channels, views = 5, 4, 3, 3
    centres = torch.randn(positions, channels, generator=g, dtype=torch.float64) * 10
    noise = torch.randn(batch, positions, channels, generator=g, dtype=torch.float64)
    direction = torch.nn.functional.normalize(torch.randn(channels, generator=g,
                                                          dtype=torch.float64), dim=0)
    step = (torch.arange(positions, dtype=torch.float64) + 1)[None, :, None]
    maps = [centres + noise + v * 0.05 * step * direction for v in range(views)]
    cells = torch.tensor([[0., 0.], [0., 100.], [100., 0.], [100., 100.]], dtype=torch.float64)
    locs = [(cells + v * 0.1 * step[0] * torch.tensor([1., 0.], dtype=torch.float64))
            .expand(batch, -1, -1).clone() for v in range(views)]
    sizes = [(2, 2)] * views
    ours = _total(vicregl_local_loss(maps, locs, (3, 2), l2_all_matches=False))
    assert ours.item() == pytest.approx(_lightly_local(maps, locs, sizes, (3, 2)).item(),
                                        rel=1e-10)
    assert ours.item() == pytest.approx(_authors_local(maps, locs, (3, 2), False).item(),
                                        rel=1e-10)


def test_local_term_follows_the_authors_where_lightly_differs():
    """Random maps and grids (2x2 global, 1x2 local views): ours equals the authors'
    computation; lightly differs (a) by keeping only num_matches feature pairs and (b) by
    ordering kept pairs by distance, which regroups the per-position batch statistics."""
    maps, locs, sizes = _random_views(2)
    ours = _total(vicregl_local_loss(maps, locs, (3, 1)))
    authors = _authors_local(maps, locs, (3, 1), l2_all=True)
    assert ours.item() == pytest.approx(authors.item(), rel=1e-10)
    # (a) the authors keep every feature match; lightly applies (3, 1) to them too.
    assert abs(ours.item() - _lightly_local(maps, locs, sizes, (3, 1)).item()) > 1e-3
    # (b) with the same kept sets (num_matches on both matchings) the order still differs.
    ours_l2_capped = _total(vicregl_local_loss(maps, locs, (3, 1), l2_all_matches=False))
    assert ours_l2_capped.item() == pytest.approx(
        _authors_local(maps, locs, (3, 1), l2_all=False).item(), rel=1e-10)
    assert abs(ours_l2_capped.item() - _lightly_local(maps, locs, sizes, (3, 1)).item()) > 1e-3
    # The invariance term alone does not depend on the order: there the two agree again.
    inv_ours = vicregl_local_loss(maps, locs, (3, 1), l2_all_matches=False, var_coeff=0,
                                  cov_coeff=0)['inv']
    lightly_inv = VICRegLLoss(alpha=0.0, mu_param=0.0, nu_param=0.0, num_matches=(3, 1))
    feats = [(m.new_zeros(m.shape[0], 1), m.view(m.shape[0], h, w, -1))
             for m, (h, w) in zip(maps, sizes)]
    grids = [g.view(g.shape[0], h, w, 2) for g, (h, w) in zip(locs, sizes)]
    assert inv_ours.item() == pytest.approx(
        lightly_inv(feats[:2], grids[:2], feats[2:], grids[2:]).item(), rel=1e-10)


def test_local_gradient_flows_to_every_view_and_not_through_the_matching():
    maps, locs, _ = _random_views(3)
    maps = [m.requires_grad_() for m in maps]
    _total(vicregl_local_loss(maps, locs, (3, 1))).backward()
    assert all(m.grad is not None and m.grad.abs().sum() > 0 for m in maps)
    assert all(loc.grad is None for loc in locs)


def test_losses_refuse_bad_arguments():
    with pytest.raises(ValueError, match='>= 2 views'):
        vicreg_loss([torch.zeros(3, 2)])
    with pytest.raises(ValueError, match='two positive counts'):
        VICRegLLocalLoss(num_matches=(20, ))
    maps, locs, _ = _random_views(4)
    with pytest.raises(ValueError, match=r'\(B, S, 2\)'):
        vicregl_local_loss(maps, [loc[:, :1] for loc in locs])
