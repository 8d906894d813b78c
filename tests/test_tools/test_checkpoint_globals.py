"""The weights_only allow-list for Runner checkpoints (mmdense.utils.checkpoint)."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmdense.utils import allow_runner_checkpoint_globals, runner_checkpoint_safe_globals


class _ReachesInit:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``: a lookup no checkpoint makes."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


class _ReachesArrayMethod:
    """Pickles as ``getattr(np.ndarray, 'tofile')``: starts from another allowed global."""

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


def _save(obj, tmp_path, name='obj.pth'):
    path = tmp_path / name
    torch.save(obj, path)
    return str(path)


def test_allow_list_is_idempotent():
    allow_runner_checkpoint_globals()
    before = set(map(repr, torch.serialization.get_safe_globals()))
    allow_runner_checkpoint_globals()
    after = set(map(repr, torch.serialization.get_safe_globals()))
    assert before == after
    assert set(map(repr, runner_checkpoint_safe_globals())) <= after


def test_message_hub_values_round_trip(tmp_path):
    allow_runner_checkpoint_globals()
    buffer = HistoryBuffer()
    for value in (3.0, 1.0, 2.0):
        buffer.update(value)
    obj = dict(
        buffer=buffer,
        eta=np.float64(1.5),
        counts=np.arange(4),
        f32=np.zeros((2, 3), np.float32),
        flags=np.array([True, False]),
        small=np.int32(7))
    loaded = torch.load(_save(obj, tmp_path))  # weights_only=True, torch's default
    assert loaded['buffer'].min() == 1.0 and loaded['buffer'].max() == 3.0
    assert loaded['buffer'].mean() == pytest.approx(2.0)
    assert loaded['buffer'].current() == 2.0
    assert loaded['eta'] == 1.5 and type(loaded['eta']) is np.float64
    np.testing.assert_array_equal(loaded['counts'], np.arange(4))
    assert loaded['f32'].dtype == np.float32 and loaded['f32'].shape == (2, 3)
    np.testing.assert_array_equal(loaded['flags'], [True, False])
    assert loaded['small'] == 7 and type(loaded['small']) is np.int32


@pytest.mark.parametrize('payload', [_ReachesInit(), _ReachesArrayMethod()])
def test_getattr_stand_in_refuses_other_lookups(payload, tmp_path):
    allow_runner_checkpoint_globals()
    path = _save(dict(x=payload), tmp_path)
    with pytest.raises(pickle.UnpicklingError, match='Refusing getattr'):
        torch.load(path)


def test_object_arrays_stay_refused(tmp_path):
    allow_runner_checkpoint_globals()
    path = _save(dict(x=np.array([dict(a=1)], dtype=object)), tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
