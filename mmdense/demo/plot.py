"""The demo's figure: pre-training loss and probe curves, and the dense similarity map of one
scene."""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config

from mmdense.datasets.demo.labelled import render_labelled_scene
from mmdense.datasets.demo.scenes import OBJECT_CATEGORIES
from mmdense.registry import MODELS

__all__ = ['similarity_map', 'plot_demo']


def _load_backbone(pretrain_cfg: Config, backbone_file: Optional[str],
                   seed: int) -> torch.nn.Module:
    """The pre-training config's backbone, from an extracted file or that config's init."""
    torch.manual_seed(seed)
    model = MODELS.build(pretrain_cfg.model.backbone)
    if backbone_file is None:
        model.init_weights()
    else:
        model.load_state_dict(torch.load(backbone_file, map_location='cpu')['state_dict'])
    model.eval()
    return model


def similarity_map(pretrain_cfg: Config, backbone_file: Optional[str], image: np.ndarray,
                   query: tuple, seed: int = 0) -> np.ndarray:
    """Cosine similarity of one C5 cell to every C5 cell of ``image``.

    Args:
        pretrain_cfg: The pre-training config: its ``model.backbone`` is the network, its
            ``data_preprocessor`` the normalisation.
        backbone_file: Extracted backbone (mmdet layout), or None for that config's
            random initialisation.
        image: BGR uint8 image (H, W, 3).
        query: (row, col) of the query cell in the C5 grid (H/32, W/32).
        seed: Seed of the random init (used when ``backbone_file`` is None).

    Returns:
        np.ndarray: (H/32, W/32) similarities, in [0, 1] because C5 follows a ReLU;
        1 at ``query``.
    """
    model = _load_backbone(pretrain_cfg, backbone_file, seed)
    norm = pretrain_cfg.data_preprocessor
    mean, std = (np.asarray(norm[k], np.float32) for k in ('mean', 'std'))
    pixels = image[..., ::-1] if norm.get('to_rgb', True) else image
    inputs = torch.from_numpy(np.ascontiguousarray(
        ((pixels.astype(np.float32) - mean) / std).transpose(2, 0, 1)))[None]
    with torch.no_grad():
        c5 = model(inputs)[-1][0]  # (C, H/32, W/32)
    grid = tuple(c5.shape[1:])
    feats = torch.nn.functional.normalize(c5.flatten(1), dim=0)  # (C, h*w)
    sim = feats[:, query[0] * grid[1] + query[1]] @ feats
    return sim.reshape(grid).numpy()


def _loss_curves(pretrain_dir: str) -> Dict[str, tuple]:
    """Loss name -> (iterations, values) from the newest ``scalars.json`` in a work dir."""
    paths = sorted(glob.glob(osp.join(pretrain_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'No scalars.json under {pretrain_dir}: pre-training logged '
                                'nothing (is default_hooks.logger.interval > the iterations?)')
    curves: Dict[str, tuple] = {}
    with open(paths[-1]) as f:
        for line in f:
            record = json.loads(line)
            for key, value in record.items():
                if key.startswith('loss'):
                    curves.setdefault(key, ([], []))
                    curves[key][0].append(record['iter'])
                    curves[key][1].append(value)
    return curves


def _probe_curves(runs: List[dict], key: str) -> Optional[tuple]:
    """(iterations, mean, min, max) of probe ``key`` over ``runs`` (each run's
    :func:`~mmdense.analysis.training_curves.curves`); None when a run did not log it."""
    series = [run.get(f'probe/{key}') for run in runs]
    if not series or any(s is None for s in series):
        return None
    steps = series[0][0]
    if any(list(s[0]) != list(steps) for s in series):
        return None  # runs probed at other iterations: nothing to average
    values = np.asarray([s[1] for s in series], dtype=np.float64)
    return steps, values.mean(0), values.min(0), values.max(0)


def plot_demo(pretrain_cfg: Config, pretrain_dirs: Dict[str, List[str]],
              backbones: Dict[str, Optional[str]], out: str, seed: int = 0,
              image_size: int = 224, baselines: Optional[Dict[str, dict]] = None) -> str:
    """Draw the loss and probe curves, and the dense similarity maps of one validation scene.

    Top row: the first run's pre-training losses, then one panel per probe of
    :data:`~mmdense.demo.report.PROBE_COLUMNS` over training (mean over the runs, the band
    their range; ``baselines`` as dashed lines). Bottom row: the first validation scene of
    the labelled split, rendered at ``image_size`` so that C5 has more than the 2x2 cells of
    a 64-pixel image, and the C5 similarity map of each backbone.

    Args:
        pretrain_cfg: Config of the backbone architecture and normalisation (all rows
            share them), see :func:`similarity_map`.
        pretrain_dirs: Row name -> pre-training work dirs, one per run (the first for
            the loss curves).
        backbones: Row name -> extracted backbone file (None: random init).
        out: PNG path.
        seed: Seed of the rendered image and the random init.
        image_size: Side of the rendered image (a multiple of 32; 224 gives 7x7 cells).
        baselines: Row name -> probes (key -> (value, value)) drawn as horizontal lines
            (the random-init row).

    Returns:
        str: ``out``.
    """
    import matplotlib
    matplotlib.use('Agg')  # no display needed
    import matplotlib.pyplot as plt

    from mmdense.analysis.training_curves import curves, read_scalars
    from .report import PROBE_COLUMNS

    scene = render_labelled_scene(seed, 'val', 0, image_size, OBJECT_CATEGORIES, 16)
    # Query: the C5 cell under the centre of the largest visible object (or the centre).
    grid = image_size // 32
    query = (grid // 2, grid // 2)
    if scene.instances:
        ys, xs = np.nonzero(max(scene.instances, key=lambda inst: inst[1].sum())[1])
        query = (min(int(ys.mean()) // 32, grid - 1), min(int(xs.mean()) // 32, grid - 1))

    columns = max(1 + len(PROBE_COLUMNS), 1 + len(backbones))
    fig, axes = plt.subplots(2, columns, figsize=(4 * columns, 8), squeeze=False)
    colours = {name: f'C{i}' for i, name in enumerate(backbones)}
    for name, work_dirs in pretrain_dirs.items():
        for key, (iters, values) in _loss_curves(work_dirs[0]).items():
            axes[0, 0].plot(iters, values, label=f'{name} {key}')
    axes[0, 0].set(title='Pre-training losses (first run)', xlabel='iteration', ylabel='loss')
    axes[0, 0].legend(fontsize=7)
    run_curves = {name: [curves(read_scalars(d)) for d in work_dirs]
                  for name, work_dirs in pretrain_dirs.items()}
    for ax, (key, title) in zip(axes[0, 1:], PROBE_COLUMNS.items()):
        for name, work_dirs in pretrain_dirs.items():
            curve = _probe_curves(run_curves[name], key)
            if curve is None:
                continue
            steps, mean, low, high = curve
            ax.plot(steps, mean, marker='o', color=colours.get(name), label=name)
            if len(work_dirs) > 1:
                ax.fill_between(steps, low, high, color=colours.get(name), alpha=0.2)
        for name, probes in (baselines or {}).items():
            if key in probes:
                ax.axhline(probes[key][1], color=colours.get(name), linestyle='--', label=name)
        ax.set(title=f'Probe: {title} (%)', xlabel='iteration')
        ax.legend(fontsize=7)
    for ax in axes[0, 1 + len(PROBE_COLUMNS):]:
        ax.axis('off')
    axes[1, 0].imshow(scene.image[..., ::-1])
    axes[1, 0].scatter([query[1] * 32 + 16], [query[0] * 32 + 16], c='red', marker='x', s=80)
    axes[1, 0].set_title('Val image, query cell (x)')
    for ax, (name, backbone) in zip(axes[1, 1:], backbones.items()):
        sim = similarity_map(pretrain_cfg, backbone, scene.image, query, seed)
        # C5 follows a ReLU, so the similarities lie in [0, 1].
        shown = ax.imshow(sim, vmin=0, vmax=1, cmap='viridis')
        ax.set_title(f'{name}: C5 cosine similarity')
        fig.colorbar(shown, ax=ax, fraction=0.046)
    for ax in axes[1]:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[1, 1 + len(backbones):]:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
