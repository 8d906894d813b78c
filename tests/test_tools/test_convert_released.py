"""Released-weight conversion (mmdense.transfer.released_weights, tools/model_converters)."""
import pytest
import torch
from mmdet.models.backbones import ResNet

from mmdense.transfer.released_weights import SOURCES, convert_and_extract, convert_released, main


@pytest.fixture(scope='module')
def resnet_state():
    """Known tensors of a tiny mmdet ResNet-18, plus a differing 'key encoder' copy."""
    torch.manual_seed(0)
    state = {k: v.clone() for k, v in ResNet(18, base_channels=8).state_dict().items()}
    for v in state.values():
        if v.is_floating_point():
            v.copy_(torch.randn_like(v))
    other = {k: (v + 1 if v.is_floating_point() else v + 1) for k, v in state.items()}
    return state, other


def _pre(prefix, state):
    return {prefix + k: v for k, v in state.items()}


def _released(source, q, k):
    """A checkpoint in ``source``'s released layout with decoys around the query encoder."""
    fc = {'fc.weight': torch.randn(10, 64), 'fc.bias': torch.randn(10)}
    if source == 'densecl':
        return {'state_dict': {**q, **fc}, 'author': 'DenseCL'}
    if source == 'pixpro':
        return {'model': {**_pre('module.encoder.', q), **_pre('module.encoder_k.', k),
                          'module.projector.linear1.weight': torch.randn(4, 64, 1, 1),
                          'module.projector_k.linear1.weight': torch.randn(4, 64, 1, 1)},
                'epoch': 400}
    if source in ('mmselfsup', 'mmpretrain'):
        return {'meta': {'epoch': 200},
                'state_dict': {**_pre('backbone.', q), **_pre('encoder_k.module.0.', k),
                               'neck.mlp.0.weight': torch.randn(4, 64),
                               'encoder_k.module.1.mlp.0.weight': torch.randn(4, 64),
                               'encoder_k.steps': torch.tensor(3),
                               'queue': torch.randn(4, 6), 'queue_ptr': torch.zeros(1)}}
    if source == 'slotcon':  # the teacher (encoder_k) is the transferred encoder
        return {'model': {**_pre('module.encoder_k.', q), **_pre('module.encoder_q.', k),
                          'module.projector_k.mlp.0.weight': torch.randn(4, 64, 1, 1),
                          'module.grouping_k.slot_embed.weight': torch.randn(8, 4),
                          'module.predictor_slot.mlp.0.weight': torch.randn(16, 4),
                          'module.center': torch.zeros(1, 8)},
                'optimizer': {}, 'epoch': 800}
    if source == 'vicregl':  # the `_fullckpt.pth` layout; the bare file: test_vicregl_runs.py
        return {'model': {**_pre('module.backbone.', q),
                          'module.projector.0.weight': torch.randn(16, 64),
                          'module.maps_projector.0.weight': torch.randn(8, 64),
                          'module.classifier.weight': torch.randn(10, 64)},
                'optimizer': {}, 'epoch': 300}
    assert source == 'moco'
    return {'arch': 'resnet18', 'epoch': 200,
            'state_dict': {**_pre('module.encoder_q.', {**q, **fc}),
                           **_pre('module.encoder_k.', {**k, **fc}),
                           'module.queue': torch.randn(4, 6)}}


# detcon's release is a NumPy pickle of Haiku modules: tests/test_models/test_detcon_weights.py
@pytest.mark.parametrize('source', [s for s in SOURCES if s != 'detcon'])
def test_convert_each_source(source, resnet_state):
    q, k = resnet_state
    out = convert_released(_released(source, q, k), source)
    assert set(out) == set(q)
    for key, v in out.items():
        assert torch.equal(v, q[key]), key
    model = ResNet(18, base_channels=8)
    model.load_state_dict(convert_and_extract(_released(source, q, k), source)['state_dict'],
                          strict=True)
    assert torch.equal(model.layer4[1].bn2.running_var, q['layer4.1.bn2.running_var'])


def test_cli_writes_loadable_file(tmp_path, resnet_state):
    q, k = resnet_state
    src = tmp_path / 'moco_v2.pth.tar'
    torch.save(_released('moco', q, k), src)
    out = main([str(src), str(tmp_path / 'r18.pth'), '--source', 'moco'])
    ckpt = torch.load(out)  # weights_only default: only tensors and plain meta
    assert ckpt['meta']['released_source'] == 'moco'
    assert ckpt['meta']['source'] == 'moco_v2.pth.tar'
    ResNet(18, base_channels=8).load_state_dict(ckpt['state_dict'], strict=True)


def test_wrong_layout_raises(resnet_state):
    q, k = resnet_state
    with pytest.raises(ValueError, match=r"not in the 'pixpro' layout.*module\.encoder_q.*"
                       r'Accepted sources: densecl'):
        convert_released(_released('moco', q, k), 'pixpro')
    with pytest.raises(ValueError, match='Top-level keys seen'):
        convert_released({'weights': {'x.y': torch.zeros(1)}}, 'moco')
    with pytest.raises(ValueError, match='source must be one of'):
        convert_released(_released('moco', q, k), 'simclr')


def test_incomplete_encoder_is_refused(resnet_state):
    q, k = resnet_state
    broken = {key: v for key, v in q.items() if key != 'layer4.1.bn2.weight'}
    with pytest.raises(ValueError, match=r'missing keys: layer4\.1\.bn2\.weight'):
        convert_and_extract({'state_dict': broken}, 'densecl')


def test_pixpro_file_with_pickled_options_loads_safely(tmp_path, resnet_state):
    import argparse
    import pickle
    q, k = resnet_state
    ckpt = _released('pixpro', q, k)
    ckpt['opt'] = argparse.Namespace(arch='resnet18', base_lr=1.0, crop=0.08)
    src = tmp_path / 'pixpro.pth'
    torch.save(ckpt, src)
    out = main([str(src), str(tmp_path / 'r18.pth'), '--source', 'pixpro'])
    ResNet(18, base_channels=8).load_state_dict(torch.load(out)['state_dict'], strict=True)
    # Any other pickled object is still refused by the weights_only unpickler.
    ckpt['opt'] = pickle.PickleError('not a plain value')
    torch.save(ckpt, src)
    with pytest.raises(ValueError, match='re-save only its tensors'):
        main([str(src), str(tmp_path / 'r18b.pth'), '--source', 'pixpro'])
    assert not (tmp_path / 'r18b.pth').exists()
