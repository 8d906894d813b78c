"""Every shipped R50 config of the successor methods extracts, by default, the encoder its
authors transfer, as a ResNet-50 file with exactly the keys and shapes that every benchmark
config loads (``test_benchmark_configs.py`` loads such a file into each of them)."""
from pathlib import Path

import pytest
import torch
from mmdet.models.backbones import ResNet
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmdense.registry import MODELS
from mmdense.transfer.backbone_extraction import extract_backbone

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    'detcon': ('configs/detcon/detcon_r50_32xb128-lars-1000e_in1k.py', 'backbone'),
    'vicregl': ('configs/vicregl/vicregl_r50_32xb64-lars-300e_in1k.py', 'backbone'),
    'slotcon': ('configs/slotcon/slotcon_r50_8xb64-lars-800e_coco.py', 'momentum_backbone'),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_r50_config_extracts_the_transferred_encoder_with_the_downstream_keys(name):
    path, encoder = CONFIGS[name]
    cfg = Config.fromfile(str(ROOT / path))
    # Under mmdense's scope whatever an earlier test left as the default one.
    with DefaultScope.overwrite_default_scope('mmdense'):
        model = MODELS.build(cfg.model)
    state = model.state_dict()
    # Tell the encoders apart: the online and momentum copies start equal.
    for key, value in state.items():
        if value.is_floating_point() and key.startswith(('backbone.', 'momentum_backbone.')):
            value.copy_(torch.rand_like(value))
    # As a Runner checkpoint records it: the config text in meta['cfg'].
    out = extract_backbone(dict(state_dict=state, meta=dict(cfg=cfg.pretty_text)))
    assert out['meta']['encoder'] == encoder
    expected = ResNet(50).state_dict()
    assert out['state_dict'].keys() == expected.keys()
    for key, value in out['state_dict'].items():
        assert value.shape == expected[key].shape, key
        assert torch.equal(value, state[f'{encoder}.{key}']), key
