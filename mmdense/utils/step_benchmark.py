"""Time full training steps (forward, backward, optimiser update) of a config's model."""
import statistics
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from mmdense.registry import MODELS


def build_model_for_benchmark(config: str, queue_len: Optional[int] = None) -> torch.nn.Module:
    """Build and initialise the model of ``config`` (no data, no Runner)."""
    cfg = Config.fromfile(config)
    model_cfg = cfg.model.copy()
    if 'data_preprocessor' not in model_cfg and cfg.get('data_preprocessor') is not None:
        model_cfg['data_preprocessor'] = cfg.data_preprocessor
    if queue_len is not None and 'queue_len' in model_cfg:
        model_cfg['queue_len'] = queue_len
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def _synthetic_batch(batch_size: int, image_size: int, device: str, seed: int) -> List[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch_size, 3, image_size, image_size, generator=g).to(device) for _ in range(2)]


def _synthetic_view_boxes(batch_size: int, seed: int) -> List[BaseDataElement]:
    """Data samples with two overlapping view boxes per image, every other key view flipped.

    Coordinate-aware models (PixPro, PixContrast) read ``view_boxes``; the others
    ignore the data samples. Boxes are square crops of 40-80% of the side.
    """
    g = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(batch_size):
        side = 0.4 + 0.4 * torch.rand(2, generator=g)
        corner = torch.rand(2, 2, generator=g) * (1 - side[:, None])
        boxes = torch.cat([corner, corner + side[:, None]], dim=1)
        if i % 2:
            boxes[1] = boxes[1, [2, 1, 0, 3]]
        samples.append(BaseDataElement(view_boxes=boxes))
    return samples


def benchmark_steps(configs: List[str],
                    batch_size: int = 8,
                    image_size: int = 224,
                    warmup: int = 2,
                    repeats: int = 10,
                    device: str = 'cpu',
                    queue_len: Optional[int] = None,
                    seed: int = 0) -> Dict[str, Dict[str, float]]:
    """Median step time of each config's model on the same synthetic two-view batch.

    Steps of the models are interleaved (A, B, A, B, ...) so that machine noise
    hits all of them alike and their ratio is meaningful within one run. Every
    model gets the same data samples, carrying synthetic view boxes for the
    coordinate-aware ones (PixPro, PixContrast).

    Args:
        configs: Config paths to compare.
        batch_size: Images per step (each image gives two views).
        image_size: Side of the square views.
        warmup: Untimed steps per model first.
        repeats: Timed steps per model.
        device: ``'cpu'`` or ``'cuda'``.
        queue_len: Override of the queue length (None keeps the config's).
        seed: Seed of the synthetic inputs and model initialisation.

    Returns:
        dict: Per config, ``step_s`` (median) and ``images_per_s``. Peak memory
        is not reported: interleaved models share one allocator peak.
    """
    torch.manual_seed(seed)
    inputs = _synthetic_batch(batch_size, image_size, device, seed)
    data_samples = _synthetic_view_boxes(batch_size, seed)
    runs = []
    for config in configs:
        model = build_model_for_benchmark(config, queue_len).to(device).train()
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01,
                                    momentum=0.9)
        runs.append((config, model, optimizer, []))

    def step(model, optimizer) -> float:
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        losses = model.loss(inputs, data_samples)
        optimizer.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        optimizer.step()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for i in range(warmup + repeats):
        for _, model, optimizer, times in runs:
            elapsed = step(model, optimizer)
            if i >= warmup:
                times.append(elapsed)
    results = {}
    for config, _, _, times in runs:
        median = statistics.median(times)
        results[config] = dict(step_s=median, images_per_s=batch_size / median)
    return results
