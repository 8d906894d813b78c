"""Weighted k-nearest-neighbour classification on frozen pooled features (no training).

The rule of InstDisc (Wu et al., CVPR 2018) as DINO's ``eval_knn.py`` runs it: features are
L2-normalised; each query keeps its ``k`` most cosine-similar training images (k = 20), each
votes for its own class with weight ``exp(similarity / T)`` (T = 0.07), and the classes are
ranked by their summed votes. Top-1 and top-5 accuracy are reported.

The images, pipelines, backbone and pooling come from an mmpretrain linear-probe config
(``configs/benchmarks/mmpretrain/``): its training split is the memory bank, read with the
*test* pipeline (resize, centre crop, no augmentation, as DINO does), its validation split
gives the queries, and the model's ``extract_feat`` (backbone + global average pooling) the
features, so the k-NN probe and the linear probe see the same frozen features. mmpretrain has
no k-NN evaluation, hence this module; the command line is ``tools/benchmarks/knn.py``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import time
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction

from mmdense.utils import ConfigError
from mmdense.utils.atomic_file_backend import atomic_write_bytes

__all__ = ['knn_votes', 'topk_accuracy', 'build_probe_model', 'extract_features', 'run_knn',
           'main']


def knn_votes(queries: torch.Tensor, bank: torch.Tensor, bank_labels: torch.Tensor,
              num_classes: int, k: int = 20, temperature: float = 0.07,
              chunk: int = 1024) -> torch.Tensor:
    """Summed ``exp(cos / T)`` votes of each query's ``k`` nearest bank features.

    Args:
        queries: (M, D) features (normalised here).
        bank: (N, D) features of the labelled images (normalised here).
        bank_labels: (N,) class indices.
        num_classes: Number of classes C.
        k: Neighbours per query (at most N).
        temperature: Temperature T of the vote weights.
        chunk: Largest number of queries per similarity block; fewer when the bank is
            large, so a block holds at most 2**27 similarities (ImageNet's 1.28 M images:
            104 queries, 0.5 GB in float32).

    Returns:
        torch.Tensor: (M, C) votes; the predicted class is the argmax.
    """
    if k < 1 or temperature <= 0:
        raise ValueError(f'need k >= 1 and temperature > 0, got k={k}, T={temperature}')
    # In the features' own floating dtype (float64 in the tests, where ranks must not tie).
    dtype = queries.dtype if queries.is_floating_point() else torch.float32
    queries, bank = F.normalize(queries.to(dtype), dim=1), F.normalize(bank.to(dtype), dim=1)
    k = min(k, bank.shape[0])
    chunk = max(1, min(chunk, (1 << 27) // bank.shape[0]))
    votes = torch.zeros(queries.shape[0], num_classes, dtype=dtype, device=queries.device)
    for start in range(0, queries.shape[0], chunk):
        block = queries[start:start + chunk] @ bank.t()
        similarity, index = block.topk(k, dim=1)
        weights = (similarity / temperature).exp()
        votes[start:start + chunk].scatter_add_(1, bank_labels.to(index.device)[index], weights)
    return votes


def topk_accuracy(votes: torch.Tensor, labels: torch.Tensor,
                  topk: Sequence[int] = (1, 5)) -> Dict[str, float]:
    """Percent of queries whose class is among the ``k`` highest votes, per ``k``.

    A ``k`` at or above the number of classes is left out (it would be 100 by definition).
    """
    ranked = votes.argsort(dim=1, descending=True)
    out = {}
    for k in topk:
        if k < votes.shape[1]:
            hit = (ranked[:, :k] == labels[:, None]).any(dim=1)
            out[f'top{k}'] = float(hit.float().mean() * 100)
    return out


def _backbone_init(cfg: Config) -> dict:
    init = cfg.model.get('backbone', {}).get('init_cfg')
    if not isinstance(init, dict) or init.get('type') != 'Pretrained':
        raise ConfigError(f"{cfg.filename}: model.backbone.init_cfg is not a Pretrained init; "
                          'use a linear-probe config from configs/benchmarks/mmpretrain/.')
    return init


def build_probe_model(cfg: Config, backbone_file: str, device: str) -> torch.nn.Module:
    """mmpretrain's classifier of ``cfg`` with the backbone file loaded, frozen, in eval mode.

    Every backbone tensor is compared with the file after loading, both ways: mmengine's
    ``Pretrained`` init only logs keys it could not load, and a probe of a half-loaded
    backbone would be a silent wrong result.
    """
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    from mmdense.evaluation.frozen_backbone import load_backbone_state
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = dict(_backbone_init(cfg), checkpoint=backbone_file)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    # mmpretrain's scope for this build only: a probe run inside a training run (the probe
    # hook) must not leave the process's default scope switched to mmpretrain.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
        model.init_weights()
    expected = load_backbone_state(backbone_file)
    loaded = model.backbone.state_dict()
    differ = [key for key, value in expected.items()
              if key not in loaded or not torch.equal(loaded[key].cpu(), value.cpu())]
    # And the other way: a deeper config would keep freshly initialised blocks.
    differ += [key for key in loaded
               if key not in expected and not key.endswith('num_batches_tracked')]
    if differ:
        raise ConfigError(f'{backbone_file}: {len(differ)} backbone tensors did not load into '
                          f"{cfg.model.backbone.type} or are not in the file (first: "
                          f"{differ[:3]}); check the config's backbone depth/width against "
                          'the checkpoint.')
    model.to(device)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def _loader(cfg: Config, split: str, pipeline: list, batch_size: Optional[int]):
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg[f'{split}_dataloader'])
    loader_cfg.dataset.pipeline = pipeline
    loader_cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    if batch_size:
        loader_cfg.batch_size = batch_size
    loader_cfg.setdefault('collate_fn', dict(type='default_collate'))
    return Runner.build_dataloader(loader_cfg)


@torch.no_grad()
def extract_features(model: torch.nn.Module, loader) -> Tuple[torch.Tensor, torch.Tensor]:
    """(N, D) pooled features and (N,) labels of every image of ``loader``, in order."""
    feats, labels = [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        feats.append(model.extract_feat(data['inputs'])[-1].float().cpu())
        labels.append(torch.cat([s.gt_label for s in data['data_samples']]).cpu())
    return torch.cat(feats), torch.cat(labels)


def run_knn(config: str, pretrain: str, work_dir: str, k: int = 20, temperature: float = 0.07,
            encoder: str = 'backbone', batch_size: Optional[int] = None,
            device: Optional[str] = None, cfg_options: Optional[dict] = None) -> dict:
    """Extract bank and query features, classify by weighted k-NN, write ``knn_results.json``.

    Args:
        config: An mmpretrain linear-probe config (its datasets, test pipeline and model).
        pretrain: A ``tools/train.py`` checkpoint (its backbone is extracted into
            ``work_dir``) or a backbone file.
        work_dir: Where the extracted backbone and the results go.
        k: Neighbours.
        temperature: Vote temperature.
        encoder: Encoder of a training checkpoint to evaluate.
        batch_size: Images per forward pass (default: the config's).
        device: ``cuda``/``cpu`` (default: cuda when available).
        cfg_options: Config overrides.

    Returns:
        dict: The results written (``top1``, ``top5`` where there are more than 5 classes,
        ``k``, ``temperature``, sizes, sources, seconds).
    """
    from mmdense.transfer.downstream_train import prepare_pretrained
    start = time.time()
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('default_scope') != 'mmpretrain':
        raise ConfigError(f'{config}: default_scope is {cfg.get("default_scope")!r}; the k-NN '
                          'probe reads mmpretrain configs (configs/benchmarks/mmpretrain/).')
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    os.makedirs(work_dir, exist_ok=True)
    backbone_file = prepare_pretrained(pretrain, work_dir, encoder)
    from mmengine.registry import DefaultScope

    # The config's datasets and transforms are mmpretrain's; the scope is restored after.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = build_probe_model(cfg, backbone_file, device)
        # DINO's protocol: the memory bank is read without augmentation.
        test_pipeline = cfg.val_dataloader.dataset.pipeline
        bank, bank_labels = extract_features(
            model, _loader(cfg, 'train', test_pipeline, batch_size))
        queries, labels = extract_features(model, _loader(cfg, 'val', test_pipeline, batch_size))
    num_classes = int(cfg.model.head.num_classes)
    votes = knn_votes(queries, bank, bank_labels, num_classes, k, temperature)
    results = dict(topk_accuracy(votes, labels), k=k, temperature=temperature,
                   bank_size=int(bank.shape[0]), queries=int(queries.shape[0]),
                   num_classes=num_classes, feature_dim=int(bank.shape[1]),
                   config=osp.abspath(config), pretrain=osp.abspath(pretrain), encoder=encoder,
                   seconds=round(time.time() - start, 1))
    atomic_write_bytes(json.dumps(results, indent=2).encode(),
                       osp.join(work_dir, 'knn_results.json'), mode=0o644)
    return results


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``tools/benchmarks/knn.py``."""
    parser = argparse.ArgumentParser(
        description='Weighted k-NN classification (k=20, T=0.07) on frozen pooled features.')
    parser.add_argument('config', help='mmpretrain linear-probe config '
                        '(configs/benchmarks/mmpretrain/): datasets, test pipeline, model')
    parser.add_argument('pretrain', help='tools/train.py checkpoint or backbone file')
    parser.add_argument('--work-dir', help='output folder (default: work_dirs/knn/<config>)')
    parser.add_argument('--k', type=int, default=20, help='neighbours (default 20)')
    parser.add_argument('--temperature', type=float, default=0.07,
                        help='vote temperature (default 0.07)')
    parser.add_argument('--encoder', choices=('backbone', 'momentum_backbone'),
                        default='backbone', help='encoder of a training checkpoint')
    parser.add_argument('--batch-size', type=int, help='images per forward pass')
    parser.add_argument('--device', help='cuda or cpu (default: cuda when available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the command line; print and return the results."""
    args = build_parser().parse_args(argv)
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'knn', osp.splitext(osp.basename(args.config))[0])
    results = run_knn(args.config, args.pretrain, work_dir, args.k, args.temperature,
                      args.encoder, args.batch_size, args.device, args.cfg_options)
    accuracy = ', '.join(f'{key} {results[key]:.2f}' for key in ('top1', 'top5') if key in results)
    print(f'k-NN (k={args.k}, T={args.temperature}) over {results["bank_size"]} training '
          f'images, {results["queries"]} queries: {accuracy}; written to '
          f'{osp.join(work_dir, "knn_results.json")}')
    return results
