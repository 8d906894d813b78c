"""Pre-flight checks of a training config: one-line errors before anything is built.

A wrong key in a config otherwise surfaces minutes later, deep in a Runner
traceback (``TypeError: __init__() got an unexpected keyword argument``), or not at
all (a batch that does not divide the queue). Each check here raises
:class:`ConfigError` with the config key at fault and what to change.
"""
import difflib
import inspect
import os
from typing import Any, Iterable, Optional

from mmengine.config import Config

__all__ = ['ConfigError', 'check_train_cfg']

# Arguments that were renamed: old name -> what to write instead.
_RENAMED_ARGUMENTS = {
    'head': "loss (ContrastiveHead became InfoNCELoss, e.g. loss=dict(type='InfoNCELoss', "
            'temperature=0.2))'
}
_SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN', 'TorchSyncBN', 'SyncBatchNorm')


class ConfigError(ValueError):
    """A config value that cannot train; the message names the key and the fix."""


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    return f' Did you mean {", ".join(repr(c) for c in close)}?' if close else ''


def _registry_names(registry) -> set:
    names = set()
    while registry is not None:
        names |= set(registry.module_dict)
        registry = registry.parent
    return names


def _resolve(registry, type_name: str, key: str, kind: str):
    try:
        cls = registry.get(type_name)
    except Exception:  # a scope prefix whose package is not installed
        cls = None
    if cls is None:
        raise ConfigError(
            f'{key}.type={type_name!r} is not a registered {kind}.'
            f'{_suggest(type_name.split(".")[-1], _registry_names(registry))} '
            f'Fix `{key}.type` in the config (use a prefix such as "mmdet." for parts '
            'of other OpenMMLab packages).')
    return cls


def _check_arguments(cls: Any, cfg: dict, key: str) -> None:
    """Unknown argument names of ``cls`` in ``cfg`` (skipped when it takes **kwargs)."""
    if not inspect.isclass(cls):
        return
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = [name for name in params if name != 'self']
    for arg in cfg:
        if arg != 'type' and arg not in allowed:
            hint = (f' It is now {_RENAMED_ARGUMENTS[arg]}.' if arg in _RENAMED_ARGUMENTS
                    and _RENAMED_ARGUMENTS[arg].split()[0] in allowed else _suggest(arg, allowed))
            raise ConfigError(
                f'{key}.{arg}: {cls.__name__} has no argument {arg!r}.'
                f'{hint} Rename or remove it in the config.')


def _check_model_part(cfg: dict, key: str, registry) -> None:
    """Resolve ``cfg['type']`` and its argument names, then its sub-components."""
    cls = _resolve(registry, cfg['type'], key, 'model component') \
        if isinstance(cfg.get('type'), str) else cfg.get('type')
    _check_arguments(cls, cfg, key)
    for name, value in cfg.items():
        # *_cfg are layer/initialiser settings (norm_cfg, init_cfg...) that their
        # owners interpret, not sub-modules built from MODELS by name.
        if isinstance(value, dict) and 'type' in value and not name.endswith('_cfg'):
            _check_model_part(value, f'{key}.{name}', registry)


def _find_types(cfg: Any, types: Iterable[str], key: str) -> Optional[str]:
    """The first key under ``cfg`` whose dict has a ``type`` in ``types``."""
    if isinstance(cfg, dict):
        if cfg.get('type') in types:
            return key
        items = cfg.items()
    elif isinstance(cfg, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(cfg))
    else:
        return None
    for name, value in items:
        found = _find_types(value, types, f'{key}.{name}')
        if found:
            return found
    return None


def _count_views(pipeline: Iterable[Any]) -> int:
    """Views per sample the pipeline makes: ``sum(num_views)`` of ``MultiView``, else 1."""
    for transform in pipeline:
        if isinstance(transform, dict) and transform.get('type') == 'MultiView':
            num_views = transform.get('num_views', 1)
            return num_views if isinstance(num_views, int) else sum(num_views)
    return 1


def check_train_cfg(cfg: Config, accelerator_available: Optional[bool] = None,
                    world_size: Optional[int] = None) -> None:
    """Check a training config before the Runner is built.

    Checks: every model component type is registered and gets only arguments it
    takes; the dataset and transform types are registered; the pipeline makes the
    views the algorithm consumes (its class's ``num_views``); the queue holds at least
    one total batch; no GPU-only option (AMP optim wrapper, SyncBN) is set on a machine
    without GPU.

    Args:
        cfg: The training config (after command-line overrides).
        accelerator_available: Whether a GPU (or NPU/MLU/MUSA) is present; ``None``
            asks torch about CUDA.
        world_size: Number of training processes; ``None`` reads ``WORLD_SIZE``.

    Raises:
        ConfigError: The first problem found, in one line.
    """
    # Imported here: mmdense.registry resolves lazily into packages importing utils.
    import torch

    from mmdense.registry import DATASETS, MODELS, TRANSFORMS
    from mmdense.utils import register_all_modules

    register_all_modules()
    if accelerator_available is None:
        accelerator_available = torch.cuda.is_available()
    if world_size is None:
        world_size = int(os.environ.get('WORLD_SIZE', 1))

    model = cfg.get('model')
    if not isinstance(model, dict) or 'type' not in model:
        raise ConfigError('The config has no `model = dict(type=...)`; inherit a model '
                          'config from configs/_base_/models/.')
    _check_model_part(model, 'model', MODELS)
    model_cls = MODELS.get(model['type']) if isinstance(model['type'], str) else model['type']

    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset') or {}
    if isinstance(dataset.get('type'), str):
        _resolve(DATASETS, dataset['type'], 'train_dataloader.dataset', 'dataset')
    pipeline = dataset.get('pipeline') or []
    for i, transform in enumerate(pipeline):
        if isinstance(transform, dict) and isinstance(transform.get('type'), str):
            _resolve(TRANSFORMS, transform['type'], f'train_dataloader.dataset.pipeline.{i}',
                     'transform')

    algorithm = str(model['type']).split('.')[-1]
    views = _count_views(pipeline)
    # Views per image the algorithm consumes: its class says (BaseSelfSupervisor.num_views).
    needed = getattr(model_cls, 'num_views', None)
    if isinstance(needed, int) and pipeline and views != needed:
        count = {1: 'one', 2: 'two', 3: 'three'}.get(needed, str(needed))
        raise ConfigError(
            f'{algorithm} compares {count} views of each image but train_dataloader.dataset.'
            f'pipeline makes {views}; wrap the view transforms in dict(type="MultiView", '
            f'num_views={needed}, transforms=[view_pipeline]).')

    queue_len = model.get('queue_len')
    batch_size = loader.get('batch_size')
    if isinstance(queue_len, int) and isinstance(batch_size, int):
        # The queue is a ring buffer that wraps around (FeatureQueue), so any length that
        # holds one global batch of keys works; the reference's "multiple of the batch"
        # assertion is a simplification of its slicing code, not a property of the method.
        total = batch_size * world_size
        if queue_len < total:
            raise ConfigError(
                f'model.queue_len={queue_len} is shorter than the total batch {total} '
                f'(train_dataloader.batch_size={batch_size} x {world_size} process(es)): one '
                f'step\'s keys would not fit; set model.queue_len to at least {total}.')

    if not accelerator_available:
        optim_type = (cfg.get('optim_wrapper') or {}).get('type', 'OptimWrapper')
        if str(optim_type).split('.')[-1] == 'AmpOptimWrapper':
            raise ConfigError(
                'optim_wrapper.type="AmpOptimWrapper" (fp16 with loss scaling) needs a GPU; '
                'set optim_wrapper.type="OptimWrapper" to train in fp32 on CPU.')
        sync_bn_key = _find_types(model, _SYNC_BN_TYPES, 'model')
        if sync_bn_key or cfg.get('sync_bn'):
            where = sync_bn_key or 'sync_bn'
            raise ConfigError(
                f'{where} uses SyncBN, which needs GPUs; use dict(type="BN") (and '
                'model.bn_splits to emulate shuffle-BN on one device) or drop `sync_bn`.')
