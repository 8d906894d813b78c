"""VICRegL built from its shipped configs: location grids as the authors', the loss of a
multi-crop batch against a re-statement of the authors' forward, gradients, and the data
pipeline that feeds it."""
import os.path as osp
import re

import numpy as np
import pytest
import torch
from lightly.loss import VICRegLLoss
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import BaseDataElement
from test_vicregl_losses import _authors_global, _authors_local

from mmdense.models.utils.vicregl_matching import vicregl_location_grid
from mmdense.registry import DATASETS, MODELS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'vicregl', 'vicregl_r18_demo.py')
R50 = osp.join(ROOT, 'configs', 'vicregl', 'vicregl_r50_32xb64-lars-300e_in1k.py')


def _authors_grid(i, j, h, w, n):
    """The authors' ``_location_to_NxN_grid`` (no flip): (row, col) pixel centres, (n, n, 2)."""
    rows = i + h / n / 2 + torch.arange(n, dtype=torch.float64) * h / n
    cols = j + w / n / 2 + torch.arange(n, dtype=torch.float64) * w / n
    return torch.stack(torch.meshgrid(rows, cols, indexing='ij'), dim=-1)


def _box_after_pipeline(top, left, h, w, height, width, flip):
    box = np.array([left / width, top / height, (left + w) / width, (top + h) / height],
                   np.float32)
    if flip:  # what RandomFlipWithBox records
        box = TRANSFORMS.build(dict(type='RandomFlipWithBox', prob=1.0))(
            dict(img=np.zeros((4, 4, 3), np.uint8), view_box=box))['view_box']
    return torch.from_numpy(np.asarray(box, np.float64))[None]


@pytest.mark.parametrize('flip', [False, True])
def test_location_grid_is_the_authors_in_pixels_and_ignores_flips(flip):
    top, left, h, w, height, width = 30, 50, 140, 210, 375, 500
    box = _box_after_pipeline(top, left, h, w, height, width, flip)
    sizes = torch.tensor([[height, width]], dtype=torch.float64)
    grid = vicregl_location_grid(box, 7, 7, sizes)  # (1, 49, 2) as (x, y)
    authors = _authors_grid(top, left, h, w, 7).reshape(1, 49, 2).flip(-1)
    assert torch.allclose(grid, authors, atol=1e-4)  # float32 boxes: ~1e-5 px
    mirrored = vicregl_location_grid(box, 7, 7, sizes, mirror_flip=True)
    expected = authors.view(1, 7, 7, 2).flip(2).reshape(1, 49, 2) if flip else authors
    assert torch.allclose(mirrored, expected, atol=1e-4)


def _multicrop_batch(batch=4, sizes=(64, 64, 32, 32), seed=0):
    g = torch.Generator().manual_seed(seed)
    views = [[torch.randint(0, 256, (3, s, s), generator=g, dtype=torch.uint8)
              for _ in range(batch)] for s in sizes]
    samples = []
    for _ in range(batch):
        xy = torch.rand(len(sizes), 2, generator=g) * 0.5
        wh = torch.rand(len(sizes), 2, generator=g) * 0.4 + 0.1
        boxes = torch.cat([xy, xy + wh], dim=1)
        boxes[1] = boxes[1, [2, 1, 0, 3]]  # view 1 flipped
        samples.append(BaseDataElement(view_boxes=boxes, metainfo=dict(ori_shape=(120, 160))))
    return dict(inputs=views, data_samples=samples)


@pytest.fixture(scope='module')
def demo_model():
    cfg = Config.fromfile(DEMO)
    # Quarter-width R18 for speed; everything else as shipped.
    cfg.model.backbone.base_channels = 16
    cfg.model.neck.in_channels = cfg.model.maps_neck.in_channels = 128
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def test_multicrop_loss_equals_the_authors_forward(demo_model):
    """Float64, four views of two sizes: the model's two terms equal the authors' global and
    local loss (re-stated in test_vicregl_losses) on the model's own features, with grids
    from the authors' grid formula, and the global term equals lightly's."""
    model = demo_model.double()
    try:
        data = model.data_preprocessor(_multicrop_batch(), True)
        views = [v.double() for v in data['inputs']]
        torch.manual_seed(1)
        losses = model.loss(views, data['data_samples'])
        # Same BN batches again (train mode, one view per forward), so same features.
        maps = [model.backbone(v)[-1] for v in views]
        emb = [model.neck(m.mean(dim=(2, 3))) for m in maps]
        local = [model.maps_neck(m) for m in maps]
        grids = []
        for v, m in enumerate(maps):
            rows = []
            for s in data['data_samples']:
                x1, y1, x2, y2 = s.view_boxes[v].double().tolist()
                x1, x2 = min(x1, x2), max(x1, x2)  # the authors' --no-flip-grid 1
                n = m.shape[2]
                rows.append(_authors_grid(y1 * 120, x1 * 160, (y2 - y1) * 120, (x2 - x1) * 160,
                                          n).reshape(n * n, 2))
            grids.append(torch.stack(rows))
    finally:
        model.float()
    alpha = model.alpha
    assert alpha == 0.75 and model.local_criterion.num_matches == (4, 2)
    expected_global = alpha * _authors_global(emb)
    expected_local = (1 - alpha) * _authors_local(local, grids, (4, 2))
    assert losses['loss_global'].item() == pytest.approx(expected_global.item(), rel=1e-9)
    assert losses['loss_local'].item() == pytest.approx(expected_local.item(), rel=1e-9)
    lightly = VICRegLLoss(alpha=1.0)._global_loss([(e, None) for e in emb[:2]],
                                                  [(e, None) for e in emb[2:]])
    assert losses['loss_global'].item() == pytest.approx(alpha * lightly.item(), rel=1e-9)


def test_gradients_reach_exactly_the_online_parameters(demo_model):
    demo_model.zero_grad()
    data = demo_model.data_preprocessor(_multicrop_batch(seed=2), True)
    losses = demo_model(**data, mode='loss')
    assert set(losses) == {'loss_global', 'loss_local', 'inv_global', 'var_global',
                           'cov_global', 'inv_local', 'var_local', 'cov_local'}
    assert not any(v.requires_grad for k, v in losses.items() if not k.startswith('loss'))
    loss, _ = demo_model.parse_losses(losses)
    loss.backward()
    names = {n for n, _ in demo_model.named_parameters()}
    assert not any(n.startswith('momentum_') for n in names)  # no momentum encoder
    assert {n.split('.')[0] for n in names} == {'backbone', 'neck', 'maps_neck'}
    # zero_init_residual (the authors' too) zeroes each block's last BN weight, so the layers
    # before it in the residual branch get exactly zero gradient on the first step.
    branch = re.compile(r'backbone\.layer\d\.\d\.(conv1|bn1|conv2)\.')
    for name, p in demo_model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert (p.grad.abs().sum() > 0) != bool(branch.match(name)), name
    # The local term alone reaches the backbone and the maps expander, not the global one.
    demo_model.zero_grad()
    demo_model(**data, mode='loss')['loss_local'].backward()
    assert demo_model.neck.mlp[0].weight.grad is None
    assert demo_model.maps_neck.mlp[0].weight.grad.abs().sum() > 0
    assert demo_model.backbone.conv1.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('alpha, parts', [(1.0, {'neck'}), (0.0, {'maps_neck'})])
def test_alpha_builds_only_the_expanders_it_uses(alpha, parts):
    cfg = Config.fromfile(DEMO)
    cfg.model.alpha = alpha
    cfg.model.backbone.base_channels = 16
    cfg.model.neck.in_channels = cfg.model.maps_neck.in_channels = 128
    model = MODELS.build(cfg.model).train()
    built = {p for p in ('neck', 'maps_neck') if getattr(model, p) is not None}
    assert built == parts
    data = model.data_preprocessor(_multicrop_batch(batch=3), True)
    losses = model(**data, mode='loss')
    assert {k for k in losses if k.startswith('loss')} == (
        {'loss_global'} if alpha == 1 else {'loss_local'})


def test_r50_recipe_is_the_authors():
    cfg = Config.fromfile(R50)
    model = cfg.model
    assert model.neck.channels == (8192, 8192, 8192) and model.maps_neck.channels == (512, 512, 512)
    assert (model.loss.inv_coeff, model.loss.var_coeff, model.loss.cov_coeff) == (25., 25., 1.)
    assert model.local_loss.num_matches == (20, 4) and model.local_loss.l2_all_matches
    assert not model.mirror_flip_grid and model.alpha == 0.75
    assert model.backbone.norm_eval is False and model.backbone.frozen_stages == -1
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, opt.trust_coef) == ('LARS', 1.6, 1e-6, 1e-3)
    assert cfg.train_cfg.max_epochs == 300 and cfg.train_dataloader.batch_size == 64
    pipeline = cfg.train_dataloader.dataset.pipeline
    crops = [p[0] for p in pipeline[1].transforms]
    assert [(c.size, c.scale) for c in crops] == [(224, (0.08, 1.))] * 2
    assert 'ori_shape' in pipeline[-1].meta_keys
    alpha9 = Config.fromfile(R50.replace('vicregl_r50', 'vicregl-alpha0.9_r50'))
    assert alpha9.model.alpha == 0.9
    multi = Config.fromfile(R50.replace('vicregl_r50', 'vicregl-multicrop_r50'))
    mv = multi.train_dataloader.dataset.pipeline[1]
    assert mv.num_views == [1, 1, 3, 3]
    assert [(p[0].size, p[0].scale) for p in mv.transforms] == [
        (224, (0.4, 1.)), (224, (0.4, 1.)), (96, (0.08, 0.4)), (96, (0.08, 0.4))]


def test_demo_pipeline_packs_views_of_two_sizes_with_boxes_and_image_size(tmp_path):
    cfg = Config.fromfile(DEMO)
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(tmp_path)
    ds_cfg.num_images = 2
    ds_cfg.image_size = 96
    ds_cfg.pop('indices', None)
    dataset = DATASETS.build(ds_cfg)
    batch = pseudo_collate([dataset[0], dataset[1]])
    assert [tuple(v[0].shape) for v in batch['inputs']] == [(3, 96, 96)] * 2 + [(3, 64, 64)] * 2
    sample = batch['data_samples'][0]
    assert tuple(sample.view_boxes.shape) == (4, 4) and sample.ori_shape == (96, 96)
    model_cfg = cfg.model
    model_cfg.backbone.base_channels = 16
    model_cfg.neck.in_channels = model_cfg.maps_neck.in_channels = 128
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(model_cfg).train()
    data = model.data_preprocessor(batch, True)
    assert [tuple(v.shape[2:]) for v in data['inputs']] == [(96, 96)] * 2 + [(64, 64)] * 2
    grids = model._location_grids(data['data_samples'], [(3, 3)] * 2 + [(2, 2)] * 2, 'cpu')
    # Pixel grids inside the 96 px image, one per view.
    assert [tuple(g.shape) for g in grids] == [(2, 9, 2)] * 2 + [(2, 4, 2)] * 2
    assert all(((g >= 0) & (g <= 96)).all() for g in grids)


def test_one_view_is_refused_and_any_count_from_two_is_taken(demo_model):
    data = demo_model.data_preprocessor(_multicrop_batch(batch=3), True)
    with pytest.raises(ValueError, match='at least 2 augmented views'):
        demo_model.loss(data['inputs'][:1], data['data_samples'])
    losses = demo_model.loss(data['inputs'][:3], data['data_samples'])  # 2 global + 1 local
    assert torch.isfinite(losses['loss_local']) and torch.isfinite(losses['loss_global'])


def test_initialisation_follows_the_authors(demo_model):
    """Their ResNet: Kaiming-normal fan-out convs, zero-init last BN of each block; their
    expanders keep PyTorch's default Linear init (uniform, std 1 / sqrt(3 * fan_in))."""
    stem = demo_model.backbone.conv1.weight.detach().double()
    fan_out = stem.shape[0] * 7 * 7
    assert abs(stem.std().item() / (2 / fan_out)**0.5 - 1) < 0.1
    assert all(torch.count_nonzero(b.norm2.weight) == 0
               for layer in (demo_model.backbone.layer1, demo_model.backbone.layer4) for b in layer)
    first = demo_model.neck.mlp[0].weight.detach().double()
    assert abs(first.std().item() / (1 / (3 * first.shape[1]))**0.5 - 1) < 0.05
    assert demo_model.neck.mlp[-1].bias is None and demo_model.maps_neck.mlp[-1].bias is None
