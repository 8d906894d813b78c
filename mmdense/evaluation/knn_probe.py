"""The k-NN probe as a training-time check: a small labelled ImageNet-layout folder, the
weighted 20-NN rule of :mod:`mmdense.evaluation.knn`, on a frozen copy of the live backbone.

``tools/benchmarks/knn.py`` evaluates a checkpoint through an mmpretrain config; during
training that would rebuild datasets and a model every time. This probe decodes its images
once (resize of the shorter side, centre crop, the pre-training normalisation) and keeps
them as one tensor, so a call costs one forward pass over them.
"""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import nn

from mmdense.registry import PROBES
from mmdense.utils import ConfigError
from .frozen_backbone import IMAGENET_MEAN, IMAGENET_STD, frozen_copy
from .knn import knn_votes, topk_accuracy

__all__ = ['KNNProbe', 'read_image_list']


def read_image_list(data_root: str, split: str) -> List[Tuple[str, int]]:
    """``(path, label)`` pairs of ``data_root/meta/<split>.txt`` (ImageNet's list format)."""
    meta = osp.join(data_root, 'meta', f'{split}.txt')
    if not osp.isfile(meta):
        raise ConfigError(f'k-NN probe: {meta} does not exist; data_root must be an ImageNet-'
                          'layout folder with meta/{train,val}.txt (python -m '
                          'mmdense.datasets.demo.classification writes one).')
    pairs = []
    with open(meta) as f:
        for line in f:
            if line.strip():
                name, label = line.split()
                pairs.append((osp.join(data_root, split, name), int(label)))
    return pairs


def _load(path: str, size: int, resize: int) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ConfigError(f'k-NN probe: cannot read {path}.')
    h, w = image.shape[:2]
    scale = resize / min(h, w)
    image = cv2.resize(image, (max(size, round(w * scale)), max(size, round(h * scale))),
                       interpolation=cv2.INTER_LINEAR)
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size, ::-1]  # RGB


@PROBES.register_module()
class KNNProbe:
    """Weighted k-NN top-1 of pooled res5 features: training images vote for validation ones.

    Args:
        data_root: ImageNet-layout folder (``train/``, ``val/``, ``meta/{train,val}.txt``).
        image_size: Side of the centre crop.
        resize: Shorter side before cropping (default: ``image_size * 8 / 7``, as 256/224).
        k: Neighbours.
        temperature: Vote temperature.
        batch_size: Images per forward pass.
        mean: RGB mean of the normalisation (0-255 scale).
        std: RGB standard deviation.
        demo_data: Write the demo classification data at ``data_root`` (which must end in
            ``imagenet``) when it is missing, with these arguments of
            :func:`~mmdense.datasets.demo.classification.generate_classification_data`
            (the demo configs; None: the folder must exist).
    """

    def __init__(self, data_root: str, image_size: int = 64, resize: int = None, k: int = 20,
                 temperature: float = 0.07, batch_size: int = 64,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, demo_data: dict = None) -> None:
        if demo_data is not None:
            from mmdense.datasets.demo.classification import generate_classification_data
            if osp.basename(osp.normpath(data_root)) != 'imagenet':
                raise ConfigError(f'k-NN probe: demo data is written to <root>/imagenet; '
                                  f'data_root={data_root!r} must end in imagenet.')
            generate_classification_data(osp.dirname(osp.normpath(data_root)), **demo_data)
        self.data_root, self.image_size = data_root, image_size
        self.resize = resize or round(image_size * 8 / 7)
        self.k, self.temperature, self.batch_size = k, temperature, batch_size
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        self._data = None

    def _images(self) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
        if self._data is None:
            self._data = {}
            for split in ('train', 'val'):
                pairs = read_image_list(self.data_root, split)
                images = np.stack([_load(p, self.image_size, self.resize) for p, _ in pairs])
                tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
                labels = torch.tensor([label for _, label in pairs])
                self._data[split] = ((tensor.float() - self.mean) / self.std, labels)
        return self._data

    @torch.no_grad()
    def _features(self, model: nn.Module, images: torch.Tensor) -> torch.Tensor:
        device = next(model.parameters()).device
        feats = [model(images[i:i + self.batch_size].to(device))[-1].mean(dim=(2, 3)).cpu()
                 for i in range(0, len(images), self.batch_size)]
        return torch.cat(feats)

    def __call__(self, backbone: nn.Module) -> Dict[str, float]:
        """``{'knn_top1': percent}`` for the backbone's current weights."""
        data = self._images()
        model = frozen_copy(backbone, out_indices=(3, ))
        bank = self._features(model, data['train'][0])
        queries = self._features(model, data['val'][0])
        labels = torch.cat([data['train'][1], data['val'][1]])
        votes = knn_votes(queries, bank, data['train'][1], int(labels.max()) + 1, self.k,
                          self.temperature)
        return {'knn_top1': topk_accuracy(votes, data['val'][1], (1, ))['top1']}
