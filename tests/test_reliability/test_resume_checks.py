"""`--resume` and the converters check their file before anything is built, with our own
messages: missing, truncated, not a checkpoint, refused by the safe unpickler; auto-resume
over damaged checkpoints only; resuming a finished run."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdense.apis import build_train_cfg, parse_train_args, train
from mmdense.apis.train import resolve_resume
from mmdense.utils import CheckpointFileError, check_checkpoint_file, load_checkpoint_file

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py')


def _cfg(tmp_path, *argv):
    return build_train_cfg(parse_train_args([CONFIG, '--work-dir', str(tmp_path / 'work'), *argv]))


def _truncated(tmp_path) -> Path:
    good = tmp_path / 'good.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': {'w': torch.ones(1000)}}, good)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:-200])
    return cut


def test_explicit_resume_of_a_missing_file_fails_before_the_runner(tmp_path):
    cfg = _cfg(tmp_path, '--resume', str(tmp_path / 'nope.pth'))
    with pytest.raises(CheckpointFileError, match=r"--resume '.*nope\.pth': no such file"):
        train(cfg)
    assert not (tmp_path / 'work').exists()  # nothing built, nothing logged


@pytest.mark.parametrize('kind', ['truncated', 'garbage', 'folder'])
def test_damaged_or_wrong_files_are_named(tmp_path, kind):
    if kind == 'truncated':
        path = _truncated(tmp_path)
        message = 'is not a complete checkpoint: it has no zip directory at its end'
    elif kind == 'garbage':
        path = tmp_path / 'garbage.pth'
        path.write_bytes(os.urandom(4096))
        message = 'is not a complete checkpoint'
    else:
        path = tmp_path
        message = 'is a folder'
    with pytest.raises(CheckpointFileError, match=message):
        check_checkpoint_file(str(path), '--resume')


class Opaque:
    """A class no allow-list knows."""


def test_objects_outside_the_allow_list_are_refused_without_weights_only_advice(tmp_path):
    path = tmp_path / 'pickled.pth'
    torch.save({'meta': {}, 'obj': Opaque()}, path)
    with pytest.raises(CheckpointFileError) as info:
        load_checkpoint_file(str(path), what='--resume')
    message = str(info.value)
    assert 'Opaque, which is not on the checkpoint allow-list' in message
    assert 're-save only its tensors' in message and 'weights_only=False' not in message


def test_auto_resume_over_damaged_checkpoints_only_is_refused(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    cut = _truncated(tmp_path)
    os.replace(cut, work / 'epoch_3.pth')
    cfg = _cfg(tmp_path, '--resume')
    with pytest.raises(CheckpointFileError, match=r'every checkpoint in .* is incomplete '
                                                  r'\(epoch_3\.pth\): delete them'):
        resolve_resume(cfg)


def test_auto_resume_without_checkpoints_starts_fresh_and_says_so(tmp_path):
    cfg = _cfg(tmp_path, '--resume')
    assert resolve_resume(cfg) == 'fresh' and cfg.resume is False and cfg.load_from is None


def test_resuming_a_finished_run_says_so_and_trains_nothing(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    torch.save({'meta': {'epoch': 10, 'iter': 80}, 'state_dict': {}}, work / 'epoch_10.pth')
    cfg = _cfg(tmp_path, '--resume')
    assert cfg.train_cfg.max_epochs == 10
    assert train(cfg) is None
    cfg = _cfg(tmp_path, '--resume', '--cfg-options', 'train_cfg.max_epochs=12')
    assert resolve_resume(cfg) == 'resume' and cfg.load_from.endswith('epoch_10.pth')


def test_extract_backbone_cli_prints_one_line_for_a_truncated_file(tmp_path):
    cut = _truncated(tmp_path)
    proc = subprocess.run([sys.executable, str(REPO / 'tools/model_converters/extract_backbone.py'),
                           str(cut), str(tmp_path / 'out.pth')], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f"error: checkpoint '{cut}' is not a complete checkpoint")
    assert 'Traceback' not in proc.stderr


def test_launcher_pytorch_outside_torchrun_is_refused(tmp_path, monkeypatch):
    for var in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(var, raising=False)
    cfg = _cfg(tmp_path, '--launcher', 'pytorch')
    from mmdense.utils import ConfigError
    with pytest.raises(ConfigError, match=r'--launcher pytorch expects the variables torchrun sets'
                                          r' \(RANK, WORLD_SIZE'):
        train(cfg)


def test_train_cli_prints_one_line_for_a_config_mistake(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / 'tools/train.py'), CONFIG, '--work-dir',
                           str(tmp_path / 'w'), '--cfg-options', 'train_cfg.max_iters=5'],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "error: train_cfg.max_iters: EpochBasedTrainLoop has no argument 'max_iters'.")
    assert 'Traceback' not in proc.stderr
