"""ViT transfer (docs/vit.md): an extracted ViT-B/16 checkpoint loads key for key into the mmseg
UPerNet and mmdet Mask R-CNN benchmark configs; extraction refuses other layouts; the simple
feature pyramid and the layer-wise lr decay by hand."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope

from mmdense.transfer.backbone_extraction import extract_backbone, save_backbone
from mmdense.transfer.downstream_train import set_pretrained
from mmdense.transfer.simple_feature_pyramid import LayerNorm2d, SimpleFeaturePyramid
from mmdense.transfer.vit_extraction import build_on_meta, infer_vit_arch
from mmdense.transfer.vit_layer_decay import vit_layer_id

REPO = Path(__file__).resolve().parents[2]
PRETRAIN = REPO / 'configs' / 'densecl' / 'densecl_vit-b16_8xb64-adamw-coslr-300e_in1k.py'
BENCHMARKS = REPO / 'configs' / 'benchmarks'
MMSEG = BENCHMARKS / 'mmseg' / 'vit' / 'upernet_vit-b16_8xb2-160k_ade20k-512x512.py'
MMDET = BENCHMARKS / 'mmdet' / 'vit' / 'mask-rcnn_vit-b16-sfp_syncbn_8xb2-1x_coco.py'
MMDET_DEMO = BENCHMARKS / 'mmdet' / 'vit' / 'mask-rcnn_vit-tiny-p8-sfp_1xb2-20it_demo-coco.py'


def build(cfg: Config, meta: bool = False) -> torch.nn.Module:
    for module in cfg.get('custom_imports', {}).get('imports', []):
        __import__(module)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        if meta:
            return build_on_meta(lambda: MODELS.build(cfg.model))
        return MODELS.build(cfg.model)


def pretraining_backbone_state() -> dict:
    """Key -> meta tensor of the shipped ViT-B/16 pre-training backbone."""
    from mmdense.registry import MODELS as MMDENSE_MODELS
    backbone_cfg = Config.fromfile(str(PRETRAIN)).model.backbone
    return build_on_meta(lambda: MMDENSE_MODELS.build(backbone_cfg)).state_dict()


@pytest.fixture(scope='module')
def vit_b16_backbone(tmp_path_factory) -> Path:
    """A ViT-B/16 training checkpoint of the shipped config, random values, extracted."""
    torch.manual_seed(0)
    state = {k: torch.rand(v.shape) + 0.5 for k, v in pretraining_backbone_state().items()}
    training = {'state_dict': {**{f'backbone.{k}': v for k, v in state.items()},
                               **{f'momentum_backbone.{k}': v + 1 for k, v in state.items()},
                               'neck.mlp.0.weight': torch.zeros(2, 2)}}
    out = tmp_path_factory.mktemp('vit') / 'vit_b16_backbone.pth'
    return Path(save_backbone(extract_backbone(training), str(out), 'mmdet'))


def test_extracted_vit_is_the_online_encoder_with_plain_meta(vit_b16_backbone):
    ckpt = torch.load(vit_b16_backbone)  # weights_only default: tensors and plain values only
    state, meta = ckpt['state_dict'], ckpt['meta']
    assert len(state) == 147 and not any(k.startswith(('neck', 'momentum')) for k in state)
    assert meta['backbone'] == 'mmseg.VisionTransformer' and meta['encoder'] == 'backbone'
    assert (meta['arch_embed_dims'], meta['arch_num_layers'], meta['arch_patch_size'],
            meta['arch_img_size'], meta['arch_final_norm']) == (768, 12, 16, 224, False)


def test_vit_loads_every_key_into_mmseg_upernet(vit_b16_backbone):
    cfg = Config.fromfile(str(MMSEG))
    assert cfg.model.backbone.type == 'VisionTransformer' and cfg.model.pretrained is None
    assert set_pretrained(cfg, str(vit_b16_backbone)) == 1
    model = build(cfg)
    model.init_weights()
    source = torch.load(vit_b16_backbone)['state_dict']
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(source), set(loaded) ^ set(source)  # none missing/unexpected
    for key, value in source.items():
        if key != 'pos_embed':
            assert torch.equal(loaded[key], value), key
    # 14x14 positions of 224-px pre-training, resized to the 32x32 grid of 512-px crops.
    grid = source['pos_embed'][:, 1:].reshape(1, 14, 14, 768).permute(0, 3, 1, 2)
    resized = F.interpolate(grid, size=(32, 32), mode='bicubic', align_corners=False)
    expected = torch.cat([source['pos_embed'][:, :1],
                          resized.flatten(2).transpose(1, 2)], dim=1)
    assert torch.allclose(loaded['pos_embed'], expected, atol=1e-6)


def test_vit_loads_every_key_into_mmdet_mask_rcnn(vit_b16_backbone):
    cfg = Config.fromfile(str(MMDET))
    assert cfg.model.backbone.type == 'mmseg.VisionTransformer'
    assert cfg.model.neck.type == 'mmdense.SimpleFeaturePyramid'
    assert set_pretrained(cfg, str(vit_b16_backbone)) == 1
    model = build(cfg)
    model.init_weights()
    source = torch.load(vit_b16_backbone)['state_dict']
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(source), set(loaded) ^ set(source)
    for key, value in source.items():  # pos_embed too: resized per batch in forward
        assert torch.equal(loaded[key], value), key


def test_extraction_refuses_other_vit_layouts_and_detectron2():
    from mmpretrain.models import VisionTransformer as MMPretrainViT
    state = build_on_meta(lambda: MMPretrainViT(arch='b', img_size=224)).state_dict()
    training = {'state_dict': {f'backbone.{k}': torch.zeros(v.shape) for k, v in state.items()}}
    with pytest.raises(ValueError, match=r"does not match mmseg's VisionTransformer.*"
                                         r'missing keys: .*attn\.attn\.in_proj_weight'):
        extract_backbone(training)
    ours = pretraining_backbone_state()
    training = {'state_dict': {f'backbone.{k}': torch.zeros(v.shape) for k, v in ours.items()}}
    with pytest.raises(ValueError, match='no detectron2 layout'):
        extract_backbone(training, fmt='detectron2')
    with pytest.raises(ValueError, match='--depth 6 given, but the ViT has 12 blocks'):
        extract_backbone(training, depth=6)
    arch = infer_vit_arch({k: torch.zeros(v.shape) for k, v in ours.items()})
    assert (arch['num_heads'], arch['mlp_ratio'], arch['qkv_bias']) == (12, 4, True)


def test_simple_feature_pyramid_strides_and_channel_layernorm():
    torch.manual_seed(0)
    sfp = SimpleFeaturePyramid(in_channels=16, out_channels=8)
    outs = sfp([torch.randn(2, 16, 6, 6)])
    # From a stride-16 map: strides 4, 8, 16, 32 and P6 (stride 64), as ViTDet.
    assert [tuple(o.shape[2:]) for o in outs] == [(24, 24), (12, 12), (6, 6), (3, 3), (2, 2)]
    assert all(o.shape[1] == 8 for o in outs)
    assert torch.equal(outs[4], outs[3][:, :, ::2, ::2])  # LastLevelMaxPool: kernel 1, stride 2
    norm = LayerNorm2d(3).double()
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    mean, var = x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True)
    assert torch.allclose(norm(x), (x - mean) / torch.sqrt(var + 1e-6))


def test_layer_decay_follows_depth_and_spares_norms_and_embeddings():
    cfg = Config.fromfile(str(MMDET_DEMO))
    model = build(cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base, rate, depth = 1e-4, 0.7, 4
    by_param = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}
    named = dict(model.named_parameters())
    assert len(by_param) == len(named)
    for name, lr_power, wd in [
            ('backbone.patch_embed.projection.weight', depth + 1, 0.1),
            ('backbone.pos_embed', depth + 1, 0.),
            ('backbone.cls_token', depth + 1, 0.),
            ('backbone.layers.0.attn.attn.in_proj_weight', depth, 0.1),
            ('backbone.layers.0.ln1.weight', depth, 0.),
            ('backbone.layers.3.ffn.layers.1.weight', 1, 0.1),
            ('neck.stages.0.0.weight', 0, 0.1),
            ('roi_head.bbox_head.fc_cls.bias', 0, 0.)]:
        group = by_param[id(named[name])]
        assert group['lr'] == pytest.approx(base * rate**lr_power), name
        assert group['weight_decay'] == wd, name
    assert vit_layer_id('backbone.layers.11.ln2.bias', 12) == 12
    # Why mmdense has its own: mmseg's constructor knows only BEiT/MAE/ConvNeXt class names.
    from mmseg.engine.optimizers import LearningRateDecayOptimizerConstructor
    mmseg_cfg = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=base))
    with pytest.raises(NotImplementedError):
        LearningRateDecayOptimizerConstructor(mmseg_cfg, dict(num_layers=4, decay_rate=rate))(
            model)


def test_vit_s16_pretraining_and_both_downstream_configs_share_every_key_and_shape(tmp_path):
    """ViT-S/16: what DenseCL/PixPro train is, key for key and shape for shape, what the mmseg
    UPerNet and mmdet Mask R-CNN ViT-S configs build (on the meta device, no memory)."""
    from mmdense.registry import MODELS as MMDENSE_MODELS
    shapes = {}
    for method in ('densecl', 'pixpro'):
        config = REPO / 'configs' / method / f'{method}_vit-s16_8xb64-adamw-coslr-300e_in1k.py'
        backbone = Config.fromfile(str(config)).model.backbone
        state = build_on_meta(lambda: MMDENSE_MODELS.build(backbone)).state_dict()
        shapes[method] = {k: tuple(v.shape) for k, v in state.items()}
    assert shapes['densecl'] == shapes['pixpro'] and shapes['densecl']['cls_token'] == (1, 1, 384)
    for config in (BENCHMARKS / 'mmseg' / 'vit' / 'upernet_vit-s16_8xb2-160k_ade20k-512x512.py',
                   BENCHMARKS / 'mmdet' / 'vit' / 'mask-rcnn_vit-s16-sfp_syncbn_8xb2-1x_coco.py'):
        model = build(Config.fromfile(str(config)), meta=True)
        downstream = {k: tuple(v.shape) for k, v in model.backbone.state_dict().items()}
        assert downstream.keys() == shapes['densecl'].keys(), config.name
        # pos_embed: mmseg's 512-px grid (32x32 + cls) is resized from the checkpoint's
        # 14x14 at load time (tested for ViT-B above); every other tensor has one shape.
        assert downstream.pop('pos_embed')[-1] == 384
        assert downstream == {k: v for k, v in shapes['densecl'].items() if k != 'pos_embed'}
    # Extraction recognises the ViT-S checkpoint and validates it against ViT-S.
    training = {'state_dict': {f'backbone.{k}': torch.zeros(s)
                               for k, s in shapes['densecl'].items()}}
    meta = extract_backbone(training)['meta']
    assert (meta['arch_embed_dims'], meta['arch_num_layers']) == (384, 12)
