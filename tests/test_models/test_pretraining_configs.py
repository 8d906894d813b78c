"""Every shipped pre-training config: builds, trains one iteration as a user's run would, and
trains every norm layer and exactly the online parameters; freezing configs are refused."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import BaseDataElement

from mmdense.models.algorithms.base import BaseMomentumSelfSupervisor, BaseSelfSupervisor
from mmdense.models.utils import norm_layers_in_eval
from mmdense.registry import MODELS
from mmdense.utils import ConfigError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def pretraining_configs():
    """Every config under configs/ whose model is an mmdense self-supervised algorithm."""
    found = []
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)):
        rel = osp.relpath(path, ROOT)
        if rel.startswith(osp.join('configs', '_base_')):
            continue
        model = Config.fromfile(path).get('model')
        cls = MODELS.get(model['type']) if isinstance(model, dict) else None
        if isinstance(cls, type) and issubclass(cls, BaseSelfSupervisor):
            found.append(rel)
    return found


CONFIGS = pretraining_configs()


def test_sweep_finds_every_method_and_scale():
    types = {Config.fromfile(osp.join(ROOT, c)).model.type for c in CONFIGS}
    assert types == {'MoCoV2', 'DenseCL', 'PixPro', 'PixContrast', 'DetCon', 'VICRegL',
                     'SlotCon'}
    assert any('r18_demo' in c for c in CONFIGS) and any('_r50_' in c for c in CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_records_the_safety_nets(config):
    """Atomic checkpoints, the non-finite-loss and RNG-state hooks and per-epoch worker seeds
    are in every config's own record (docs/reliability.md), nothing adds them behind it."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    hooks = cfg.default_hooks
    assert hooks.checkpoint.backend_args == dict(backend='atomic_local')
    assert hooks.non_finite_loss.type == 'NonFiniteLossHook'
    assert hooks.rng_state.type == 'RNGStateHook'
    assert cfg.train_dataloader.worker_init_fn == dict(type='mmdense.seed_worker_from_torch_seed')
    assert cfg.env_cfg.dist_cfg.timeout == 1800


def one_batch(batch: int, size: int = 64):
    g = torch.Generator().manual_seed(0)
    views = [[torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
              for _ in range(batch)] for _ in range(2)]
    boxes = [torch.tensor([[0., 0., .75, .75], [.25, .25, 1., 1.]]) for _ in range(batch)]
    # DetCon's mask ids per view: 4x4 blocks of 16 ids, the same object ids in both views.
    blocks = torch.arange(16, dtype=torch.int32).reshape(4, 4)
    masks = blocks.repeat_interleave(size // 4, 0).repeat_interleave(size // 4, 1)
    return dict(inputs=views, data_samples=[
        BaseDataElement(view_boxes=b, seg_masks=torch.stack([masks, masks])) for b in boxes])


def stem_weight(model):
    """First layer of the online encoder: ResNet's conv1, a ViT's patch projection."""
    backbone = model.backbone
    return backbone.conv1.weight if hasattr(backbone, 'conv1') else \
        backbone.patch_embed.projection.weight


def norm_statistics(model):
    return {name: m.running_mean.clone() for name, m in model.named_modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None}


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_norms_and_exactly_the_online_parameters(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    torch.manual_seed(0)
    # As the Runner does: the config's top-level data_preprocessor goes into the model.
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    assert norm_layers_in_eval(model) == []
    # The batch is a multiple of the single-device shuffle-BN splits (bn_splits=8).
    batch = max(4, 2 * cfg.model.get('bn_splits', 1))
    before = norm_statistics(model)
    data = model.data_preprocessor(one_batch(batch), True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()

    online = {n for n, p in model.named_parameters() if p.requires_grad}
    momentum = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert momentum == {n for n in dict(model.named_parameters()) if n.startswith('momentum_')}
    for name, param in model.named_parameters():
        if name in online:
            assert param.grad is not None and torch.isfinite(param.grad).all(), name
        else:
            assert param.grad is None, name
    # Gradient reaches the stem of the online encoder (nothing frozen on the way).
    assert stem_weight(model).grad.abs().sum() > 0

    after = norm_statistics(model)
    # Every momentum encoder's BN statistics are among those checked (VICRegL has none).
    assert before.keys() == after.keys()
    assert (any(k.startswith('momentum_') for k in after)
            or not isinstance(model, BaseMomentumSelfSupervisor))
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert unchanged == [], f'BN running statistics not updated in {unchanged}'

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    stem = stem_weight(model).detach().clone()
    optim_wrapper.step()
    assert not torch.equal(stem, stem_weight(model))


@pytest.mark.parametrize('override, key', [
    (dict(norm_eval=True), 'model.backbone.norm_eval=True'),
    (dict(frozen_stages=1), 'model.backbone.frozen_stages=1'),
    (dict(norm_cfg=dict(type='BN', requires_grad=False)), 'model.backbone: parameter'),
])
@pytest.mark.parametrize('config', [c for c in CONFIGS if 'r18_demo' in c])
def test_freezing_backbone_is_refused_with_the_key(config, override, key):
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.model.backbone.update(override)
    with pytest.raises(ConfigError, match=re.escape(key)):
        MODELS.build(cfg.model)


def test_mmdet_default_norm_eval_is_refused_when_omitted():
    """The fault that shipped: a backbone config without norm_eval gets mmdet's True."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs/densecl/densecl_r18_demo.py'))
    del cfg.model.backbone['norm_eval']
    with pytest.raises(ConfigError, match=r'model\.backbone\.norm_eval=True.*set model\.backbone\.'
                                          r'norm_eval=False'):
        MODELS.build(cfg.model)


def test_norm_layer_put_in_eval_mode_later_is_refused_at_train():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/pixpro/pixpro_r18_demo.py'))
    model = MODELS.build(cfg.model)
    model.train()
    # A part whose train() keeps BN in eval mode, here set after the build-time check.
    model.momentum_backbone.norm_eval = True
    with pytest.raises(ConfigError, match=r'momentum_backbone\.bn1 and \d+ more'):
        model.train()


def _std(t: torch.Tensor) -> float:
    return t.detach().double().std().item()


def test_initialisation_follows_each_methods_authors():
    """docs/algorithms.md, "Defaults we inherit": each method's init as in its authors' code."""
    built = {}
    for name in ('mocov2/mocov2_r50_8xb32-coslr-200e_in1k.py',
                 'densecl/densecl_r50_8xb32-coslr-200e_in1k.py',
                 'pixpro/pixpro_r50_8xb128-lars-100e_in1k.py'):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(osp.join(ROOT, 'configs', name)).model)
        model.init_weights()
        built[name.split('/')[0]] = model
    # layer1.0.conv3 is a 1x1 conv from 64 to 256 channels: Kaiming-normal std sqrt(2 / fan).
    fan_in, fan_out = (2 / 64)**0.5, (2 / 256)**0.5
    conv3 = {k: _std(m.backbone.layer1[0].conv3.weight) for k, m in built.items()}
    assert abs(conv3['mocov2'] / fan_out - 1) < 0.05  # torchvision's fan-out (MoCo reference)
    assert abs(conv3['pixpro'] / fan_out - 1) < 0.05  # PixPro's normal(0, sqrt(2 / n_out))
    assert abs(conv3['densecl'] / fan_in - 1) < 0.05  # OpenSelfSup's fan-in
    # DenseCL's neck Linear layers: Kaiming fan-in (std sqrt(2 / 2048)), zero bias; its dense
    # convs keep PyTorch's default (uniform, std 1 / sqrt(3 * 2048)); MoCo v2's Linear too.
    neck = built['densecl'].neck
    assert abs(_std(neck.mlp[0].weight) / (2 / 2048)**0.5 - 1) < 0.05
    assert torch.count_nonzero(neck.mlp[0].bias) == 0
    assert abs(_std(neck.dense_mlp[0].weight) / (1 / (3 * 2048))**0.5 - 1) < 0.05
    assert abs(_std(built['mocov2'].neck.mlp[0].weight) / (1 / (3 * 2048))**0.5 - 1) < 0.05
    # Zero-init residual: PixPro zeroes the last BN of every block, MoCo v2 and DenseCL do not.
    for key, model in built.items():
        last_bn = [b.bn3.weight for layer in (model.backbone.layer1, model.backbone.layer4)
                   for b in layer]
        zeroed = all(torch.count_nonzero(w) == 0 for w in last_bn)
        assert zeroed == (key == 'pixpro'), key
        # The momentum encoder starts as an exact copy.
        for p, q in zip(model.backbone.parameters(), model.momentum_backbone.parameters()):
            assert torch.equal(p, q)
