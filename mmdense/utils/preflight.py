"""Pre-flight checks of a training config: one-line errors before anything is built.

A wrong key in a config otherwise surfaces minutes later, deep in a Runner
traceback (``TypeError: __init__() got an unexpected keyword argument``), or not at
all (a batch that does not divide the queue). Each check here raises
:class:`ConfigError` with the config key at fault and what to change.
"""
import difflib
import inspect
import os
from typing import Any, Iterable, List, Optional

from mmengine.config import Config

__all__ = ['ConfigError', 'check_train_cfg']

# Arguments that were renamed: old name -> (new name, what to write instead).
_RENAMED_ARGUMENTS = {
    'head': ('loss', "It is now loss (ContrastiveHead became InfoNCELoss, e.g. "
                     "loss=dict(type='InfoNCELoss', temperature=0.2)).")
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


def _accepted_arguments(cls: Any) -> Optional[List[str]]:
    """Argument names ``cls(...)`` accepts, or None when it takes anything.

    A constructor with ``**kwargs`` that hands them to its base class (datasets do) accepts
    the names of the classes above it, up to one that takes anything itself.
    """
    names: List[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters
        names += [n for n, p in params.items() if n != 'self' and p.kind not in (
            inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return names
    return None


def _check_arguments(cls: Any, cfg: dict, key: str, hints: Optional[dict] = None,
                     supplied: Iterable[str] = (), tail: str = '') -> None:
    """Refuse argument names of ``cfg`` that ``cls`` does not take.

    Args:
        cls: The class the config builds.
        cfg: Its config dict.
        key: The config key of ``cfg``, named in the message.
        hints: Argument name -> what to write instead (overrides the close-match
            suggestion).
        supplied: Arguments the builder passes itself (a loop's ``runner``), not allowed
            in the config either.
        tail: Extra advice appended to the message.
    """
    if not inspect.isclass(cls):
        return
    allowed = _accepted_arguments(cls)
    if allowed is None:
        return
    allowed = [name for name in allowed if name not in supplied]
    for arg in cfg:
        if arg in ('type', '_delete_', '_scope_') or arg in allowed:
            continue
        renamed = _RENAMED_ARGUMENTS.get(arg)
        if hints and arg in hints:
            hint = f' {hints[arg]}'
        elif renamed and renamed[0] in allowed:
            hint = f' {renamed[1]}'
        else:
            hint = _suggest(arg, allowed)
        raise ConfigError(
            f'{key}.{arg}: {cls.__name__} has no argument {arg!r}.'
            f'{hint} Rename or remove it in the config.{tail}')


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


def _check_train_loop(train_cfg: Any) -> None:
    """The training loop's arguments, with the epoch/iteration mix-up spelled out."""
    if not isinstance(train_cfg, dict):
        return
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

    from mmdense.registry import LOOPS
    if 'type' in train_cfg:
        cls = _resolve(LOOPS, train_cfg['type'], 'train_cfg', 'training loop') \
            if isinstance(train_cfg['type'], str) else train_cfg['type']
    elif 'by_epoch' in train_cfg:
        cls = EpochBasedTrainLoop if train_cfg['by_epoch'] else IterBasedTrainLoop
    else:
        raise ConfigError("train_cfg has neither `type` nor `by_epoch`; set train_cfg.type="
                          "'EpochBasedTrainLoop' (max_epochs) or 'IterBasedTrainLoop' (max_iters).")
    hints = {
        'max_iters': "EpochBasedTrainLoop counts epochs: set train_cfg.max_epochs, or "
                     "train_cfg.type='IterBasedTrainLoop' to count iterations.",
        'max_epochs': "IterBasedTrainLoop counts iterations: set train_cfg.max_iters, or "
                      "train_cfg.type='EpochBasedTrainLoop' to count epochs.",
    }
    extra = {'by_epoch'} if 'type' not in train_cfg else set()
    _check_arguments(cls, {k: v for k, v in train_cfg.items() if k not in extra}, 'train_cfg',
                     hints=hints, supplied=('runner', 'dataloader'))


def _check_dataloader(loader: Any, key: str) -> None:
    """Data-loader keys: what ``torch.utils.data.DataLoader`` takes (MMEngine builds the
    ``dataset``, ``sampler``, ``batch_sampler``, ``collate_fn`` and ``worker_init_fn`` dicts)."""
    if not isinstance(loader, dict):
        return
    import torch.utils.data
    allowed = [n for n in inspect.signature(torch.utils.data.DataLoader.__init__).parameters
               if n != 'self']
    for arg in loader:
        if arg not in allowed and arg != '_delete_':
            raise ConfigError(
                f'{key}.{arg}: torch.utils.data.DataLoader has no argument {arg!r}.'
                f'{_suggest(arg, allowed)} Rename or remove it in the config.')


def _check_optimizer(optim_wrapper: Any) -> None:
    """The optimizer wrapper's and the optimizer's arguments."""
    if not isinstance(optim_wrapper, dict):
        return
    from mmdense.registry import OPTIM_WRAPPERS, OPTIMIZERS
    wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
    if isinstance(wrapper_type, str):
        wrapper_cls = _resolve(OPTIM_WRAPPERS, wrapper_type, 'optim_wrapper', 'optimizer wrapper')
        # The optimizer-wrapper builder consumes these itself.
        consumed = ('optimizer', 'constructor', 'paramwise_cfg')
        wrapper_args = {k: v for k, v in optim_wrapper.items() if k not in consumed}
        _check_arguments(wrapper_cls, wrapper_args, 'optim_wrapper')
    optimizer = optim_wrapper.get('optimizer')
    if isinstance(optimizer, dict) and isinstance(optimizer.get('type'), str):
        cls = _resolve(OPTIMIZERS, optimizer['type'], 'optim_wrapper.optimizer', 'optimizer')
        _check_arguments(cls, optimizer, 'optim_wrapper.optimizer',
                         hints={'learning_rate': "The learning rate is `lr`."},
                         supplied=('params', ))


def _check_schedulers(schedulers: Any) -> None:
    """Each parameter scheduler's arguments."""
    from mmdense.registry import PARAM_SCHEDULERS
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for i, scheduler in enumerate(schedulers or []):
        if not isinstance(scheduler, dict) or not isinstance(scheduler.get('type'), str):
            continue
        key = f'param_scheduler.{i}'
        cls = _resolve(PARAM_SCHEDULERS, scheduler['type'], key, 'parameter scheduler')
        # convert_to_iter_based goes to the class's build_iter_from_epoch, not __init__.
        _check_arguments(cls, {k: v for k, v in scheduler.items()
                               if k != 'convert_to_iter_based'}, key,
                         supplied=('optimizer', ))


def check_train_cfg(cfg: Config, accelerator_available: Optional[bool] = None,
                    world_size: Optional[int] = None) -> None:
    """Check a training config before the Runner is built.

    Checks: every model component type is registered and gets only arguments it
    takes; so do the training loop, the data loader, the dataset, the optimizer wrapper,
    the optimizer and the parameter schedulers; the transform types are registered; the
    pipeline makes the views the algorithm consumes (its class's ``num_views``); the
    queue holds at least one total batch; no GPU-only option (AMP optim wrapper, SyncBN)
    is set on a machine without GPU.

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

    _check_train_loop(cfg.get('train_cfg'))
    loader = cfg.get('train_dataloader') or {}
    _check_dataloader(loader, 'train_dataloader')
    dataset = loader.get('dataset') or {}
    if isinstance(dataset.get('type'), str):
        dataset_cls = _resolve(DATASETS, dataset['type'], 'train_dataloader.dataset', 'dataset')
        _check_arguments(
            dataset_cls, dataset, 'train_dataloader.dataset',
            tail=' If it comes from a base config (say, the demo dataset before your own '
            'data), replace the whole dict: add _delete_=True to train_dataloader.dataset.')
    _check_optimizer(cfg.get('optim_wrapper'))
    _check_schedulers(cfg.get('param_scheduler'))
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
