"""DetCon's released Haiku ResNet layout -> mmdet ResNet (mmdense.transfer.detcon_weights)."""
import numpy as np
import pytest
import torch
from mmdet.models.backbones import ResNet

from mmdense.transfer.backbone_extraction import extract_backbone
from mmdense.transfer.detcon_weights import convert_detcon_haiku, load_haiku_npy


def _haiku_module(name: str) -> str:
    """The Haiku module path of an mmdet ResNet module, spelled from the authors' network."""
    if name in ('conv1', 'bn1'):
        return 'res_net50/~/' + {'conv1': 'initial_conv', 'bn1': 'initial_batchnorm'}[name]
    layer, block, part = name.split('.', 2)
    group = f'res_net50/~/block_group_{int(layer[5:]) - 1}/~/block_{block}/~/'
    if part.startswith('downsample'):
        return group + ('proj_conv' if part.endswith('0') else 'proj_batchnorm')
    kind, index = ('conv', part[4:]) if part.startswith('conv') else ('batchnorm', part[2:])
    return group + f'{kind}_{int(index) - 1}'


def haiku_state(state):
    """A released-style dict: params and BN state modules, plus heads that must be dropped."""
    out = {}
    for key, value in state.items():
        module, param = key.rsplit('.', 1)
        path = _haiku_module(module)
        array = value.numpy()
        if param == 'weight' and array.ndim == 4:
            out.setdefault(path, {})['w'] = array.transpose(2, 3, 1, 0)  # OIHW -> HWIO
        elif param in ('weight', 'bias'):
            out.setdefault(path, {})['scale' if param == 'weight' else 'offset'] = \
                array.reshape(1, 1, 1, -1)
        elif param in ('running_mean', 'running_var'):
            ema = path + ('/~/mean_ema' if param == 'running_mean' else '/~/var_ema')
            out[ema] = {'average': array.reshape(1, 1, 1, -1), 'counter': np.array(5),
                        'hidden': array.reshape(1, 1, 1, -1)}
    out['projector/~/linear'] = {'w': np.ones((4, 4), np.float32)}
    out['res_net50/~/logits'] = {'w': np.ones((4, 4), np.float32)}
    return out


@pytest.fixture(scope='module')
def resnet50_state():
    torch.manual_seed(0)
    state = ResNet(50, base_channels=4).state_dict()
    return {k: (torch.randn_like(v) if v.is_floating_point() else v) for k, v in state.items()}


def test_haiku_layout_converts_exactly(resnet50_state, tmp_path):
    path = tmp_path / 'resnet50_detcon_b_imagenet_1k.npy'
    np.save(path, haiku_state(resnet50_state), allow_pickle=True)
    converted = convert_detcon_haiku(load_haiku_npy(str(path)))
    assert set(converted) == set(resnet50_state)
    for key, value in resnet50_state.items():
        if value.is_floating_point():
            assert torch.equal(converted[key], value), key
    model = ResNet(50, base_channels=4)
    model.load_state_dict(converted, strict=True)
    out = extract_backbone({'state_dict': {'backbone.' + k: v for k, v in converted.items()}},
                           encoder='backbone')
    assert out['meta']['depth'] == 50


def test_other_layout_is_refused_with_the_names_seen():
    with pytest.raises(ValueError, match='initial_conv.*encoder_q'):
        convert_detcon_haiku({'encoder_q/conv': {'w': np.zeros((1, 1, 1, 1))}})


def test_cli_converts_the_release_only_when_the_pickle_is_trusted(resnet50_state, tmp_path):
    from mmdense.transfer.released_weights import main
    path = tmp_path / 'resnet50_detcon_b_imagenet_1k.npy'
    np.save(path, haiku_state(resnet50_state), allow_pickle=True)
    out = tmp_path / 'detcon_mmdet.pth'
    with pytest.raises(ValueError, match='--trust-pickle'):
        main([str(path), str(out), '--source', 'detcon'])
    assert not out.exists()
    main([str(path), str(out), '--source', 'detcon', '--trust-pickle'])
    saved = torch.load(out)  # the output itself is weights_only-safe
    assert saved['meta']['released_source'] == 'detcon'
    for key, value in resnet50_state.items():
        if value.is_floating_point():
            assert torch.equal(saved['state_dict'][key], value), key
