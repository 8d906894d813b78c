"""Evaluate or predict with a fine-tuned mmdet/mmseg model (the test half of the benchmarks).

``tools/benchmarks/train.py`` trains and evaluates on the validation split; the PASCAL VOC
2012 test server (and any later re-evaluation) needs the trained checkpoint run over another
split. ``tools/benchmarks/test.py CONFIG CHECKPOINT`` is a thin wrapper around
:func:`downstream_test_main`:

1. Load the config with the command-line overrides and the work-dir rules of
   :func:`mmdense.apis.train.build_train_cfg` (also the CPU/gloo adaptation of
   ``--launcher pytorch``); ``load_from`` is CHECKPOINT.
2. Build mmdet's/mmseg's Runner (the config's ``default_scope``), refuse a CHECKPOINT that
   lacks weights of the model (a pre-training checkpoint or a backbone file would otherwise
   load partly, with a warning, and test a half-random model), and run ``Runner.test()``.

Evaluators with ``format_only=True`` (mmseg's ``IoUMetric`` for a test server) write their
files to ``--out DIR``, else to ``WORK_DIR/pred``, unless ``--cfg-options`` sets their
``output_dir``.
"""
import argparse
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmdense.apis.train import (LAUNCHERS, build_train_cfg, check_launcher_environment,
                                init_cpu_process_group)
from mmdense.utils import (ConfigError, allow_runner_checkpoint_globals, check_checkpoint_file,
                           load_checkpoint_file, register_all_modules)
from .downstream_train import replace_sync_bn

__all__ = [
    'build_downstream_test_parser', 'build_downstream_test_cfg', 'set_format_only_output_dir',
    'missing_model_weights', 'run_downstream_test', 'downstream_test_main'
]

# Buffers a checkpoint may lack without changing the model's output.
_OPTIONAL_BUFFERS = ('num_batches_tracked', )


def build_downstream_test_parser() -> argparse.ArgumentParser:
    """The parser of ``tools/benchmarks/test.py``.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(
        description='Test a fine-tuned model with an mmdet/mmseg benchmark config.')
    parser.add_argument('config', help='path of the config file')
    parser.add_argument('checkpoint', help='checkpoint written by tools/benchmarks/train.py')
    parser.add_argument('--work-dir', help='directory for the logs; defaults to the config\'s '
                        '`work_dir`, else work_dirs/<config name>')
    parser.add_argument('--out', default=None, metavar='DIR',
                        help='output_dir of format_only evaluators (e.g. the VOC test-server '
                        'PNGs); defaults to WORK_DIR/pred')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. '
                        '`test_dataloader.dataset.data_root=DIR`')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--scope', choices=('mmdet', 'mmseg'), default=None,
                        help='refuse configs whose default_scope differs')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser


def _evaluators(cfg: Config) -> List[dict]:
    evaluator = cfg.get('test_evaluator')
    if isinstance(evaluator, dict) and 'metrics' in evaluator:  # mmengine's Evaluator form
        evaluator = evaluator['metrics']
    if evaluator is None:
        return []
    return list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]


def set_format_only_output_dir(cfg: Config, out: Optional[str],
                               cfg_options: Optional[dict] = None) -> List[str]:
    """Point every ``format_only`` test evaluator at ``out`` (else ``WORK_DIR/pred``).

    An ``output_dir`` given on the command line (``--cfg-options
    test_evaluator.output_dir=...``) is kept when ``out`` is None: the config's own value
    names the default work dir of mmseg's tools/test.py, not this run's.

    Args:
        cfg: The test config (``work_dir`` set), changed in place.
        out: ``--out``, or None.
        cfg_options: The ``--cfg-options`` that were merged into ``cfg``.

    Returns:
        list[str]: The output folders of the format_only evaluators.
    """
    explicit = any(key.startswith('test_evaluator') and key.endswith('output_dir')
                   for key in (cfg_options or {}))
    folders = []
    for evaluator in _evaluators(cfg):
        if not evaluator.get('format_only', False):
            continue
        if out is not None:
            evaluator['output_dir'] = out
        elif not explicit:
            evaluator['output_dir'] = osp.join(cfg.work_dir, 'pred')
        folders.append(evaluator['output_dir'])
    return folders


def build_downstream_test_cfg(argv: Optional[Sequence[str]] = None) -> Config:
    """Parse the arguments and return the Runner config of the test run.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        Config: The config, with ``load_from`` = CHECKPOINT.

    Raises:
        CheckpointFileError: CHECKPOINT is missing or not a complete checkpoint file.
        ValueError: The config's ``default_scope`` is not ``--scope``.
    """
    args = build_downstream_test_parser().parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    check_checkpoint_file(args.checkpoint, 'CHECKPOINT')
    # The training-only switches off: build_train_cfg then only loads, merges, sets the work
    # dir and adapts a CPU multi-process run.
    cfg = build_train_cfg(argparse.Namespace(
        config=args.config, cfg_options=args.cfg_options, launcher=args.launcher,
        work_dir=args.work_dir, amp=False, auto_scale_lr=False, tensorboard=False, resume=None,
        seed=None))
    scope = cfg.get('default_scope')
    if args.scope is not None and scope != args.scope:
        raise ValueError(f'{args.config} has default_scope={scope!r}, but this launcher runs '
                         f'{args.scope} configs.')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    set_format_only_output_dir(cfg, args.out, args.cfg_options)
    if cfg.launcher != 'none' and not torch.cuda.is_available():
        if replace_sync_bn(cfg):
            warnings.warn('No CUDA: SyncBN replaced by BN (eval mode: the running statistics '
                          'are used, so the predictions are those of SyncBN).')
    return cfg


def missing_model_weights(model: torch.nn.Module, checkpoint: str) -> List[str]:
    """The names in ``model.state_dict()`` that ``checkpoint`` does not hold.

    Args:
        model: The built model (a DDP wrapper is unwrapped).
        checkpoint: A Runner checkpoint (``{'state_dict': ...}``) or a plain state dict.

    Returns:
        list[str]: Missing names, sorted, without ``num_batches_tracked`` buffers.
    """
    if is_model_wrapper(model):
        model = model.module
    state = load_checkpoint_file(checkpoint, what='CHECKPOINT', mmap=True)
    weights = state.get('state_dict', state) if isinstance(state, dict) else {}
    return sorted(k for k in model.state_dict()
                  if k not in weights and not k.endswith(_OPTIONAL_BUFFERS))


def run_downstream_test(cfg: Config) -> Dict[str, float]:
    """Build mmdet's/mmseg's Runner from ``cfg``, check the checkpoint against it, and test.

    Args:
        cfg: A config from :func:`build_downstream_test_cfg`.

    Returns:
        dict[str, float]: The test metrics (empty for ``format_only`` evaluators).

    Raises:
        ConfigError: The checkpoint lacks weights of the model.
    """
    allow_runner_checkpoint_globals()
    register_all_modules(init_default_scope=False)
    check_launcher_environment(cfg)
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        init_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg)
    missing = missing_model_weights(runner.model, cfg.load_from)
    if missing:
        shown = ', '.join(missing[:5]) + (' ...' if len(missing) > 5 else '')
        raise ConfigError(
            f'CHECKPOINT {cfg.load_from!r} lacks {len(missing)} weights of the model ({shown}): '
            'it is not a checkpoint of this config. Pass the work dir\'s iter_N.pth written by '
            'tools/benchmarks/train.py with this config (a pre-training checkpoint or a '
            'backbone file holds no head).')
    return runner.test()


def downstream_test_main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    """Run ``tools/benchmarks/test.py``.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        dict[str, float]: The test metrics.
    """
    return run_downstream_test(build_downstream_test_cfg(argv))
