"""Training entry point: command-line handling and the MMEngine Runner launch.

``tools/train.py`` is a thin wrapper around :func:`main`; tests call the pieces
(:func:`parse_train_args`, :func:`build_train_cfg`, :func:`train`) directly.
"""
import argparse
import datetime
import logging
import os
import os.path as osp
from typing import List, Optional, Sequence

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
from mmengine.logging import print_log
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from torch.nn.parallel import DistributedDataParallel

from mmdense.registry import RUNNERS
from mmdense.utils import (CheckpointFileError, ConfigError, allow_runner_checkpoint_globals,
                           check_train_cfg, find_resumable_checkpoint, list_checkpoints,
                           load_checkpoint_file, register_all_modules, schedule_mismatches)

__all__ = [
    'build_train_parser', 'parse_train_args', 'default_work_dir', 'build_train_cfg',
    'enable_amp', 'enable_tensorboard', 'init_cpu_process_group', 'check_launcher_environment',
    'resolve_resume', 'warn_schedule_mismatches', 'drop_scope_from_loader_functions', 'train',
    'check_queue_fits_data', 'main'
]

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def build_train_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``tools/train.py``.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(
        description='Pre-train a model with an mmdense config.')
    parser.add_argument('config', help='path of the config file')
    parser.add_argument(
        '--work-dir',
        help='directory for logs and checkpoints; defaults to the config\'s '
        '`work_dir`, else work_dirs/<config name>')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        metavar='CHECKPOINT',
        help='resume training (optimizer, schedulers, iteration, message hub) from '
        'CHECKPOINT; without a value, from the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision (fp16) with dynamic loss scaling; needs a GPU')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate linearly from `auto_scale_lr.base_batch_size` to '
        'the actual total batch (processes x batch per process)')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also log to TensorBoard (work_dir/<timestamp>/vis_data/; view it with '
        '`tensorboard --logdir WORK_DIR`)')
    parser.add_argument(
        '--seed', type=int, default=None, help='random seed (overrides `randomness.seed`)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. `train_cfg.max_iters=100 '
        'optim_wrapper.optimizer.lr=0.01`; lists as `key="[a,b]"` or `key=a,b`')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch (the predecessor of torchrun) passes --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    return parser


def parse_train_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse ``tools/train.py`` arguments.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    args = build_train_parser().parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def default_work_dir(config_path: str) -> str:
    """Return ``work_dirs/<config file name without extension>``.

    Args:
        config_path: Path of the config file.

    Returns:
        str: The work directory, relative to the current directory.
    """
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


def _accelerator_available() -> bool:
    # The devices mmengine's AmpOptimWrapper accepts.
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def enable_tensorboard(cfg: Config) -> None:
    """Add MMEngine's ``TensorboardVisBackend`` to the visualizer (once).

    (``--cfg-options visualizer.vis_backends=[...]`` cannot express a list of dicts, hence
    the flag.) The scalars then also go to ``work_dir/<timestamp>/vis_data/`` as
    TensorBoard events, beside the local JSON.
    """
    visualizer = cfg.setdefault('visualizer', ConfigDict(type='Visualizer'))
    backends = list(visualizer.get('vis_backends') or [dict(type='LocalVisBackend')])
    if not any(isinstance(b, dict) and b.get('type') == 'TensorboardVisBackend' for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    visualizer.vis_backends = backends


def enable_amp(cfg: Config, accelerator_available: Optional[bool] = None) -> None:
    """Switch ``cfg.optim_wrapper`` to ``AmpOptimWrapper`` with dynamic loss scaling.

    Args:
        cfg: The config, modified in place.
        accelerator_available: Whether a GPU (or NPU/MLU/MUSA) is present;
            ``None`` asks the machine.

    Raises:
        RuntimeError: Without an accelerator. MMEngine 0.10.7's ``AmpOptimWrapper``
            asserts one, and fp16 autocast on CPU is not supported, so failing
            here gives a clear message instead of an assertion inside the Runner.
        ValueError: When the config uses an optimizer wrapper other than
            ``OptimWrapper``, which cannot be switched safely.
    """
    if accelerator_available is None:
        accelerator_available = _accelerator_available()
    if not accelerator_available:
        raise RuntimeError(
            '--amp needs a GPU: mmengine\'s AmpOptimWrapper (fp16 autocast with '
            'loss scaling) does not run on CPU. Drop --amp to train in fp32.')
    optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_type == 'AmpOptimWrapper':
        print_log('AMP is already enabled in the config.', logger='current')
        return
    if optim_type != 'OptimWrapper':
        raise ValueError(f'--amp only switches `OptimWrapper` to `AmpOptimWrapper`, '
                         f'but the config uses `{optim_type}`.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def _set_resume(cfg: Config, resume: Optional[str]) -> None:
    """Map ``--resume [CHECKPOINT]`` onto the Runner's ``resume``/``load_from``."""
    if resume is None:
        return
    cfg.resume = True
    if resume == 'auto':
        # Runner.load_or_resume only searches the work dir when load_from is None;
        # a load_from kept from the config would be resumed from instead.
        cfg.load_from = None
    else:
        cfg.load_from = resume


def _adapt_to_cpu_distributed(cfg: Config) -> None:
    """Make a multi-process config runnable on a machine without CUDA."""
    if cfg.launcher not in ('pytorch', ):
        raise RuntimeError(
            f'Distributed training without CUDA is supported with --launcher pytorch '
            f'(tools/dist_train.sh), not {cfg.launcher!r}.')
    # NCCL, the usual backend, only moves CUDA tensors; gloo runs on CPU.
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    env_cfg.setdefault('dist_cfg', ConfigDict())
    env_cfg.dist_cfg.backend = 'gloo'
    # The Runner passes device_ids=[LOCAL_RANK] to DistributedDataParallel, which
    # rejects device_ids for a module on CPU; device_ids=None is the CPU form.
    wrapper_cfg = cfg.get('model_wrapper_cfg')
    if wrapper_cfg is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=None)
    else:
        wrapper_type = wrapper_cfg.get('type', 'MMDistributedDataParallel')
        wrapper_cls = (MODEL_WRAPPERS.get(wrapper_type)
                       if isinstance(wrapper_type, str) else wrapper_type)
        if isinstance(wrapper_cls, type) and issubclass(wrapper_cls, DistributedDataParallel):
            wrapper_cfg.device_ids = None


def drop_scope_from_loader_functions(cfg: Config) -> None:
    """Remove the ``_scope_`` MMEngine writes into a ``pkg::`` base's function dicts.

    A config inheriting ``mmdense::...`` gets ``_scope_='mmdense'`` in every dict with a
    ``type`` (so it is built in that package's registries). For a data loader's
    ``collate_fn`` and ``worker_init_fn``, MMEngine's ``Runner.build_dataloader`` passes
    the dict's other keys to the function as arguments, so ``_scope_`` would reach
    ``pseudo_collate`` itself; the type names already carry their scope.
    """
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for key in ('collate_fn', 'worker_init_fn'):
            function = (cfg.get(loader) or {}).get(key)
            if isinstance(function, dict):
                function.pop('_scope_', None)


def build_train_cfg(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line overrides.

    Also switches on AMP (``--amp``) and learning-rate scaling (``--auto-scale-lr``),
    maps ``--resume``, and adapts multi-process runs to CPU-only machines. Precedence
    of the work directory: ``--work-dir``, then ``work_dir`` from the
    config or ``--cfg-options``, then :func:`default_work_dir`.

    Args:
        args: Arguments from :func:`parse_train_args`.

    Returns:
        Config: The config to build the Runner from.
    """
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    if args.amp:
        enable_amp(cfg)
    if getattr(args, 'tensorboard', False):
        enable_tensorboard(cfg)
    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr', {}).get('base_batch_size') is None:
            raise ValueError('--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` '
                             'in the config: the batch size its learning rate was set for.')
        cfg.auto_scale_lr.enable = True
    _set_resume(cfg, args.resume)
    drop_scope_from_loader_functions(cfg)
    if args.seed is not None:
        cfg.setdefault('randomness', ConfigDict())
        cfg.randomness.seed = args.seed
    if cfg.launcher != 'none' and not torch.cuda.is_available():
        _adapt_to_cpu_distributed(cfg)
    return cfg


def init_cpu_process_group(cfg: Config) -> None:
    """Start the gloo process group for a CPU-only ``--launcher pytorch`` run.

    MMEngine's ``init_dist`` calls ``torch.cuda.set_device(LOCAL_RANK)`` before
    creating the group, which raises on a machine without an NVIDIA driver. The
    Runner skips its own set-up when a group already exists, so create it here from
    the ``env://`` variables torchrun sets (RANK, WORLD_SIZE, MASTER_ADDR/PORT).
    """
    if torch_dist.is_initialized():
        return
    kwargs = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    kwargs.pop('backend', None)
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    torch_dist.init_process_group(backend='gloo', **kwargs)


def check_launcher_environment(cfg: Config) -> None:
    """Refuse ``--launcher pytorch`` outside torchrun, which sets the variables it reads."""
    if cfg.get('launcher', 'none') == 'pytorch':
        missing = [v for v in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')
                   if v not in os.environ]
        if missing:
            raise ConfigError(
                f'--launcher pytorch expects the variables torchrun sets ({", ".join(missing)} '
                'missing): start the run with `bash tools/dist_train.sh CONFIG GPUS` (or '
                'torchrun), or drop --launcher for one process.')


def resolve_resume(cfg: Config) -> str:
    """Check what ``--resume`` resumes from before anything is built.

    An explicit checkpoint must be a complete, loadable file; ``--resume`` alone takes the
    newest complete checkpoint of the work dir, starts afresh (saying so) when there is
    none, and refuses when every checkpoint there is damaged rather than overwrite them.

    Args:
        cfg: The training config with ``resume=True``; ``load_from`` is set here.

    Returns:
        str: ``'resume'``, ``'fresh'`` (nothing to resume: ``cfg.resume`` is turned off) or
        ``'finished'`` (the checkpoint already ends the run; nothing to train).

    Raises:
        CheckpointFileError: The checkpoint is missing, truncated, not a checkpoint or
            refused by the safe unpickler, or the work dir holds only damaged ones.
    """
    if cfg.get('load_from') is None:
        work_dir = cfg.get('work_dir')
        latest = find_resumable_checkpoint(work_dir) if work_dir else None
        if latest is None:
            damaged = list_checkpoints(work_dir) if work_dir and osp.isdir(work_dir) else []
            if damaged:
                names = ', '.join(osp.basename(p) for p in damaged[:3])
                more = ' ...' if len(damaged) > 3 else ''
                raise CheckpointFileError(
                    f'--resume: every checkpoint in {work_dir} is incomplete ({names}{more}): '
                    'delete them to start afresh, or pass a good one to --resume.')
            print_log(f'--resume: no checkpoint in {work_dir} yet; starting from scratch.',
                      logger='current', level=logging.WARNING)
            cfg.resume = False
            return 'fresh'
        cfg.load_from = latest
    meta = load_checkpoint_file(cfg.load_from, what='--resume', mmap=True).get('meta', {})
    train_cfg = cfg.get('train_cfg') or {}
    for unit, key in (('epoch', 'max_epochs'), ('iter', 'max_iters')):
        done, total = meta.get(unit), train_cfg.get(key)
        if key in train_cfg and isinstance(done, int) and done >= total:
            print_log(f'--resume: {cfg.load_from} is {unit} {done} and train_cfg.{key}={total}: '
                      'the run is finished, nothing to train. Raise train_cfg.'
                      f'{key} to train longer.', logger='current', level=logging.WARNING)
            return 'finished'
    return 'resume'


def warn_schedule_mismatches(cfg: Config) -> List[str]:
    """Log a warning for every pinned schedule that does not fit the run length.

    Returns:
        list[str]: The messages (see :func:`mmdense.utils.schedule_mismatches`).
    """
    messages = schedule_mismatches(cfg)
    for message in messages:
        print_log(message, logger='current', level=logging.WARNING)
    return messages


def train(cfg: Config) -> Runner:
    """Check the config, build the Runner from it and train.

    Before anything is built, :func:`mmdense.utils.check_train_cfg` rejects configs
    that cannot train (one-line :class:`mmdense.utils.ConfigError`). The safety nets
    (atomic checkpoints, the non-finite-loss and RNG-state hooks, per-epoch worker
    seeds) are part of the config (``configs/_base_/default_runtime.py`` and the dataset
    bases), not added here. With ``resume=True`` and
    no ``load_from``, the newest complete checkpoint of the work dir is resumed
    (:func:`mmdense.utils.find_resumable_checkpoint`), so a file left incomplete by
    an interrupted save is passed over.

    Args:
        cfg: A config prepared by :func:`build_train_cfg` (or by hand).

    Returns:
        Runner | None: The runner after training (``runner.model`` holds the weights);
        None when ``--resume`` finds the run already finished.
    """
    # Runner resume and load_from read checkpoints with torch.load, which refuses
    # the numpy and MMEngine objects Runner checkpoints hold unless allow-listed.
    allow_runner_checkpoint_globals()
    register_all_modules()
    check_train_cfg(cfg, accelerator_available=_accelerator_available())
    warn_schedule_mismatches(cfg)
    check_launcher_environment(cfg)
    if cfg.get('resume') and resolve_resume(cfg) == 'finished':
        return None
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        init_cpu_process_group(cfg)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    check_queue_fits_data(runner)
    runner.train()
    return runner


def check_queue_fits_data(runner: Runner) -> None:
    """Refuse a negative queue longer than the training set allows (see
    :mod:`mmdense.models.utils.queue_length`); builds the train data loader to count it."""
    from mmengine.dist import get_world_size
    from mmengine.model import is_model_wrapper

    from mmdense.models.utils.feature_queue import FeatureQueue
    from mmdense.models.utils.queue_length import check_queue_length
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if not any(isinstance(m, FeatureQueue) for m in model.modules()):
        return
    loader = runner.train_dataloader
    check_queue_length(model, len(loader.dataset), loader.batch_size * get_world_size())


def main(argv: Optional[Sequence[str]] = None) -> Runner:
    """Run ``tools/train.py``.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        Runner: The runner after training.
    """
    args = parse_train_args(argv)
    return train(build_train_cfg(args))
