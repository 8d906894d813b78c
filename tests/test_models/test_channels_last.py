"""``data_preprocessor.channels_last``: the same training step in the channels-last format.

The R50 configs turn it on. It must change the memory layout only: losses and gradients
equal those of the default layout up to float rounding (float64 here, so a flipped argmax
of DenseCL's matching cannot hide a real difference), and checkpoints stay ordinary.
"""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from mmdense.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    'DenseCL': ROOT / 'configs/densecl/densecl_r18_demo.py',
    'PixPro': ROOT / 'configs/pixpro/pixpro_r18_demo.py',
}


def build(config: Path, channels_last: bool) -> torch.nn.Module:
    cfg = Config.fromfile(str(config))
    model_cfg = cfg.model.copy()
    model_cfg['data_preprocessor'] = dict(cfg.data_preprocessor, channels_last=channels_last)
    model_cfg['backbone'] = dict(model_cfg['backbone'], base_channels=16)
    model_cfg['neck'] = dict(model_cfg['neck'], in_channels=128)
    if 'queue_len' in model_cfg:
        model_cfg['queue_len'] = 32
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.double().train()


def batch(n: int = 4, size: int = 64):
    g = torch.Generator().manual_seed(1)
    views = [torch.rand(n, 3, size, size, generator=g, dtype=torch.float64) for _ in range(2)]
    boxes = torch.tensor([[0., 0., 1., 1.], [0.2, 0.1, 0.9, 0.8]], dtype=torch.float64)
    return views, [BaseDataElement(view_boxes=boxes.clone()) for _ in range(n)]


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_channels_last_step_equals_the_default_layout(name):
    plain, last = build(CONFIGS[name], False), build(CONFIGS[name], True)
    assert last.channels_last and not plain.channels_last
    convs = [p for p in last.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    # Different layouts, same values: one state dict loads into the other.
    for a, b in zip(plain.state_dict().values(), last.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    views, samples = batch()
    losses = {}
    for key, model in (('plain', plain), ('last', last)):
        out = model.loss(views, samples)
        sum(out.values()).backward()
        losses[key] = {k: v.item() for k, v in out.items()}
    assert losses['plain'].keys() == losses['last'].keys()
    for k in losses['plain']:
        assert losses['last'][k] == pytest.approx(losses['plain'][k], rel=1e-12)
    grads = [(n, p.grad, q.grad) for (n, p), q in
             zip(plain.named_parameters(), last.parameters()) if p.requires_grad]
    assert grads
    for n, a, b in grads:
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-12, msg=n)


def test_preprocessor_hands_on_channels_last_batches():
    model = build(CONFIGS['DenseCL'], True)
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(2)]
    out = model.data_preprocessor(dict(inputs=[images, images]), training=True)
    assert all(v.is_contiguous(memory_format=torch.channels_last) for v in out['inputs'])
    assert not all(v.is_contiguous() for v in out['inputs'])


def test_r50_configs_turn_it_on_and_the_demo_configs_off():
    densecl = Config.fromfile(str(ROOT / 'configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py'))
    pixpro = Config.fromfile(str(ROOT / 'configs/pixpro/pixpro_r50_8xb128-lars-100e_in1k.py'))
    assert densecl.data_preprocessor.channels_last and pixpro.data_preprocessor.channels_last
    for config in CONFIGS.values():
        assert Config.fromfile(str(config)).data_preprocessor.channels_last is False


def test_extracted_backbone_is_in_the_default_layout():
    from mmdense.transfer.backbone_extraction import extract_backbone
    model = build(CONFIGS['DenseCL'], True).float()
    state = model.state_dict()
    assert not state['backbone.conv1.weight'].is_contiguous()
    extracted = extract_backbone(dict(state_dict=state), encoder='backbone')
    assert extracted['state_dict'].keys() == {
        k[len('backbone.'):] for k in state if k.startswith('backbone.')}
    for key, value in extracted['state_dict'].items():
        assert value.is_contiguous(), key
        torch.testing.assert_close(value, state['backbone.' + key], rtol=0, atol=0)
