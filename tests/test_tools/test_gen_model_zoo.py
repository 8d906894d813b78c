"""model_zoo.md generation and metafile checks (tools/gen_model_zoo.py)."""
import importlib.util
import os.path as osp
import shlex
import shutil

import torch
import yaml
from mmdet.models.backbones import ResNet

from mmdense.transfer import released_weights

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool():
    """tools/gen_model_zoo.py is repository maintenance, not package code: load the file."""
    spec = importlib.util.spec_from_file_location('gen_model_zoo',
                                                  osp.join(REPO, 'tools', 'gen_model_zoo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_tool = _load_tool()
check_model_index, load_model_index = _tool.check_model_index, _tool.load_model_index
main, render_model_zoo = _tool.main, _tool.render_model_zoo


def test_committed_model_zoo_is_generated_from_metafiles():
    assert main(['--root', REPO, '--check']) == 0
    with open(osp.join(REPO, 'model_zoo.md'), encoding='utf-8') as f:
        assert f.read() == render_model_zoo(load_model_index(REPO))


def test_repo_metafiles_are_consistent():
    metafiles = load_model_index(REPO)
    assert check_model_index(metafiles, REPO) == []
    names = [m['Name'] for meta in metafiles for m in meta['models']]
    assert 'densecl_r50_8xb32-coslr-200e_in1k' in names
    # Every model names who measured its figures.
    for meta in metafiles:
        for model in meta['models']:
            assert model['Metadata'].get('Results Source'), model['Name']


def _fake_released(source: str) -> dict:
    """A checkpoint in the released layout of ``source`` around a tiny ResNet-50."""
    state = ResNet(50, base_channels=8).state_dict()
    if source == 'densecl':
        return {'state_dict': dict(state), 'author': 'DenseCL'}
    if source == 'pixpro':
        return {'model': {'module.encoder.' + k: v for k, v in state.items()}}
    if source == 'moco':
        return {'state_dict': {'module.encoder_q.' + k: v for k, v in state.items()}}
    if source == 'slotcon':  # the teacher is what SlotCon releases for transfer
        return {'model': {'module.encoder_k.' + k: v for k, v in state.items()}}
    if source == 'vicregl':  # resnet50_alpha*.pth: a bare ResNet state dict
        return dict(state)
    if source == 'detcon':  # a pickled NumPy dict of Haiku modules
        return _detcon_weights_test().haiku_state(state)
    return {'state_dict': {'backbone.' + k: v for k, v in state.items()}}


def _detcon_weights_test():
    """tests/test_models/test_detcon_weights.py, whose haiku_state spells the Haiku layout."""
    path = osp.join(REPO, 'tests', 'test_models', 'test_detcon_weights.py')
    spec = importlib.util.spec_from_file_location('detcon_weights_layout', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_released(source: str, path) -> None:
    if source == 'detcon':
        import numpy as np
        with open(path, 'wb') as f:  # np.save would append .npy to a name without it
            np.save(f, _fake_released(source), allow_pickle=True)
    else:
        torch.save(_fake_released(source), path)


def test_every_converter_command_runs(tmp_path):
    commands = [
        m['Converted From']['Command'] for meta in load_model_index(REPO) for m in meta['models']
        if (m.get('Converted From') or {}).get('Command')
    ]
    assert commands
    for command in commands:
        argv = shlex.split(command)
        assert argv[:2] == ['python', 'tools/model_converters/convert_released.py'], command
        args = released_weights.build_convert_parser().parse_args(argv[2:])
        src = tmp_path / osp.basename(args.checkpoint)
        _write_released(args.source, src)
        out = tmp_path / osp.basename(args.out)
        rest = argv[4:]
        released_weights.main([str(src), str(out), *rest])
        converted = torch.load(out, weights_only=True)['state_dict']
        ResNet(50, base_channels=8).load_state_dict(converted, strict=True)


def _write_repo(root, models, config_exists=True):
    (root / 'configs' / 'm').mkdir(parents=True)
    (root / 'configs' / 'm' / 'README.md').write_text('# m\n')
    if config_exists:
        (root / 'configs' / 'm' / 'm_cfg.py').write_text('x = 1\n')
    (root / 'model-index.yml').write_text('Import:\n  - configs/m/metafile.yml\n')
    meta = {'Collections': [{'Name': 'M', 'README': 'configs/m/README.md'}], 'Models': models}
    (root / 'configs' / 'm' / 'metafile.yml').write_text(yaml.safe_dump(meta, sort_keys=False))


def _model(**extra):
    model = {
        'Name': 'm_cfg',
        'In Collection': 'M',
        'Config': 'configs/m/m_cfg.py',
        'Metadata': {
            'Results Source': 'measured here (demo scale)'
        },
        'Results': [{
            'Task': 'Semantic Segmentation',
            'Dataset': 'Demo',
            'Metrics': {
                'mIoU': 12.5
            }
        }]
    }
    model.update(extra)
    return model


def test_missing_config_fails(tmp_path, capsys):
    _write_repo(tmp_path, [_model()], config_exists=False)
    assert main(['--root', str(tmp_path)]) == 1
    assert "Config 'configs/m/m_cfg.py' does not exist" in capsys.readouterr().err
    assert not (tmp_path / 'model_zoo.md').exists()


def test_weight_hash_checked_against_file(tmp_path, capsys):
    weights = tmp_path / 'weights'
    weights.mkdir()
    good = weights / 'm_cfg_20261123-00000000.pth'
    good.write_bytes(b'not the right content')
    _write_repo(tmp_path, [_model(Weights='https://example.org/m_cfg_20261123-00000000.pth')])
    # Not at hand: the table still renders (CI has no weights) ...
    assert main(['--root', str(tmp_path)]) == 0
    assert '`00000000`' in (tmp_path / 'model_zoo.md').read_text()
    assert main(['--root', str(tmp_path), '--check']) == 0
    # ... at hand with the wrong content: refused, naming the file and both hashes.
    assert main(['--root', str(tmp_path), '--weights-root', str(weights)]) == 1
    assert 'but its name says 00000000' in capsys.readouterr().err
    # Required but absent.
    shutil.rmtree(weights)
    assert main(['--root', str(tmp_path), '--weights-root', str(weights), '--require-weights']) == 1


def test_weight_without_hash_and_bad_metric(tmp_path, capsys):
    results = [{'Task': 'T', 'Dataset': 'D', 'Metrics': {'AP': 'high'}}]
    _write_repo(tmp_path, [_model(Weights='m.pth', Results=results)])
    assert main(['--root', str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert 'no "-<8 hex>.pth"' in err and "metric AP = 'high' is not a number" in err


def test_check_detects_stale_file(tmp_path, capsys):
    _write_repo(tmp_path, [_model()])
    assert main(['--root', str(tmp_path)]) == 0
    text = (tmp_path / 'model_zoo.md').read_text()
    assert '| [m_cfg](configs/m/m_cfg.py) |' in text and '| 12.5 |' in text
    (tmp_path / 'model_zoo.md').write_text(text.replace('12.5', '13.5'))
    assert main(['--root', str(tmp_path), '--check']) == 1
    assert 'out of date' in capsys.readouterr().err
