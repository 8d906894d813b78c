"""Fine-tune a pre-trained backbone with mmdet, mmseg or mmpretrain (the transfer benchmarks).

``tools/benchmarks/{mmdet,mmseg,mmpretrain}/dist_train.sh CONFIG PRETRAIN GPUS`` and
``tools/benchmarks/train.py`` are thin wrappers around :func:`main`. The steps:

1. If ``PRETRAIN`` is an mmdense training checkpoint (keys ``backbone.*`` /
   ``momentum_backbone.*``), extract the backbone into the work dir with
   :func:`~mmdense.transfer.backbone_extraction.extract_backbone`; a backbone-only
   file is used as it is.
2. Point every ``Pretrained`` ``init_cfg`` of the model (the backbone, and the
   res5 RoI head of C4 detectors) at that file.
3. Build the downstream package's Runner (the config's ``default_scope``) and train, with
   the CPU/gloo handling of :mod:`mmdense.apis.train`.
"""
import json
import os
import os.path as osp
import warnings
from typing import Any, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmdense.apis.train import (build_train_cfg, build_train_parser, check_launcher_environment,
                                init_cpu_process_group, warn_schedule_mismatches)
from mmdense.utils import allow_runner_checkpoint_globals, register_all_modules
from .backbone_extraction import ENCODERS, extract_backbone, save_backbone

DOWNSTREAM_SCOPES = ('mmdet', 'mmseg', 'mmpretrain')

__all__ = [
    'DOWNSTREAM_SCOPES', 'is_training_checkpoint', 'prepare_pretrained', 'set_pretrained',
    'replace_sync_bn',
    'build_downstream_cfg', 'run_downstream', 'downstream_main'
]


def is_training_checkpoint(state: dict) -> bool:
    """Whether a loaded checkpoint holds a whole pre-training model, not a backbone.

    Args:
        state: ``torch.load`` output: a Runner checkpoint or a (backbone) state dict.

    Returns:
        bool: True when some key starts with ``backbone.`` or ``momentum_backbone.``.
    """
    weights = state.get('state_dict', state)
    return any(key.startswith(f'{encoder}.') for key in weights for encoder in ENCODERS)


def prepare_pretrained(pretrain: str, work_dir: str, encoder: str = 'backbone') -> str:
    """Return a backbone-only file for ``pretrain``, extracting it when needed.

    Args:
        pretrain: Training checkpoint (``tools/train.py`` output) or backbone file.
        work_dir: Where an extracted backbone is written (``pretrain_backbone.pth``).
        encoder: Which encoder to extract from a training checkpoint.

    Returns:
        str: ``pretrain`` itself, or the path of the extracted backbone.
    """
    if not osp.isfile(pretrain):
        raise FileNotFoundError(f'PRETRAIN {pretrain!r} does not exist. Pass a checkpoint '
                                'written by tools/train.py or a backbone from '
                                'tools/model_converters/extract_backbone.py.')
    from mmdense.utils import load_checkpoint_file
    state = load_checkpoint_file(pretrain)
    if not isinstance(state, dict) or not is_training_checkpoint(state):
        return pretrain
    out = osp.join(work_dir, 'pretrain_backbone.pth')
    # Extraction validates the key set and shapes, so a wrong file stops here.
    saved = save_backbone(extract_backbone(state, encoder=encoder, fmt='mmdet'), out, 'mmdet')
    # Where the backbone came from, for collect_results (the file name alone says nothing).
    with open(provenance_path(saved), 'w') as f:
        json.dump(dict(source=osp.abspath(pretrain), encoder=encoder), f)
    return saved


def provenance_path(backbone_file: str) -> str:
    """The JSON beside an extracted backbone that names its training checkpoint."""
    return osp.splitext(backbone_file)[0] + '.json'


def _walk(node: Any):
    """Yield every dict inside nested config dicts and lists."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk(value)


def set_pretrained(cfg: Config, checkpoint: str) -> int:
    """Set the checkpoint of every ``Pretrained`` init in ``cfg.model``.

    Args:
        cfg: The downstream config, changed in place.
        checkpoint: Backbone file.

    Returns:
        int: How many ``init_cfg`` entries were set (2 for the C4 configs: backbone
        and res5 head; 1 otherwise).

    Raises:
        ValueError: If the model has no ``Pretrained`` init, i.e. the config is not
            a benchmark config and would silently train from scratch.
    """
    count = 0
    for node in _walk(cfg.model):
        if node.get('type') == 'Pretrained' and 'checkpoint' in node:
            node['checkpoint'] = checkpoint
            count += 1
    if count == 0:
        raise ValueError('The config has no init_cfg=dict(type="Pretrained", ...) in its model; '
                         'use a config from configs/benchmarks/ (or add one to the backbone).')
    return count


def replace_sync_bn(cfg: Config) -> int:
    """Replace SyncBN by BN in ``cfg.model`` (for CPU runs, where SyncBN cannot run).

    Args:
        cfg: The downstream config, changed in place.

    Returns:
        int: How many norm configs were changed.
    """
    count = 0
    for node in _walk(cfg.model):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
    return count


def build_downstream_parser():
    """``tools/train.py``'s parser plus ``PRETRAIN``, ``--encoder`` and ``--scope``."""
    parser = build_train_parser()
    parser.description = ('Fine-tune a pre-trained backbone with an mmdet/mmseg/mmpretrain '
                          'benchmark config.')
    parser.add_argument('pretrain', help='tools/train.py checkpoint or extracted backbone file')
    parser.add_argument('--encoder', choices=ENCODERS, default='backbone',
                        help='encoder to extract from a training checkpoint')
    parser.add_argument('--scope', choices=DOWNSTREAM_SCOPES, default=None,
                        help='refuse configs whose default_scope differs (set by the launchers)')
    return parser


def build_downstream_cfg(argv: Optional[Sequence[str]] = None) -> Config:
    """Parse the arguments, prepare the backbone file and return the Runner config.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        Config: The downstream config with its ``Pretrained`` inits set.
    """
    args = build_downstream_parser().parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = build_train_cfg(args)
    scope = cfg.get('default_scope')
    if args.scope is not None and scope != args.scope:
        raise ValueError(f'{args.config} has default_scope={scope!r}, but this launcher runs '
                         f'{args.scope} configs; use tools/benchmarks/{scope}/dist_train.sh.')
    # Every rank extracts into the same file; save_backbone writes atomically, so
    # concurrent writers of identical content are harmless.
    os.makedirs(cfg.work_dir, exist_ok=True)
    set_pretrained(cfg, prepare_pretrained(args.pretrain, cfg.work_dir, args.encoder))
    if cfg.launcher != 'none' and not torch.cuda.is_available():
        # torch's SyncBatchNorm needs CUDA; a non-distributed Runner reverts it
        # itself, a distributed CPU (gloo) run must not build it at all.
        if replace_sync_bn(cfg):
            warnings.warn('No CUDA: SyncBN replaced by BN (per-process batch statistics). '
                          'Benchmark numbers need the GPU run with SyncBN.')
    return cfg


def run_downstream(cfg: Config) -> Runner:
    """Build mmdet's/mmseg's Runner from ``cfg`` (its ``default_scope``) and train.

    Not :func:`mmdense.apis.train.train`: its pre-flight check and default hooks are
    for mmdense pre-training configs (types in the ``mmdense`` scope), while here the
    model, datasets and hooks are mmdet's or mmseg's.

    Args:
        cfg: A config from :func:`build_downstream_cfg`.

    Returns:
        Runner: The runner after training (and its evaluations).
    """
    allow_runner_checkpoint_globals()
    # Registers mmdense's parts (e.g. ``mmdense.ResLayerExtraNorm``) without making
    # 'mmdense' the default scope; the Runner sets the config's own scope.
    register_all_modules(init_default_scope=False)
    warn_schedule_mismatches(cfg)
    check_launcher_environment(cfg)
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        init_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def downstream_main(argv: Optional[Sequence[str]] = None) -> Runner:
    """Run ``tools/benchmarks/train.py``: prepare the backbone, then fine-tune.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        Runner: The downstream runner after training (and its evaluations).
    """
    return run_downstream(build_downstream_cfg(argv))
