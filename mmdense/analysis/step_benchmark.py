"""Time full training steps (forward, backward, optimiser update) of a config's model."""
import os
import statistics
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from mmdense.registry import MODELS
from .mmpretrain_models import MMPRETRAIN_PREFIX, build_mmpretrain_model, mmpretrain_config

SUPERVISED_PREFIX = 'supervised::resnet'


class SupervisedResNetReference(torch.nn.Module):
    """Supervised ImageNet training step of a ResNet, the reference for the step ratios.

    ResNet (mmdet's, as our configs use), global average pooling, a 1000-way linear
    classifier, cross-entropy against random labels; it reads the first view only, as
    supervised training sees one image per sample. Not a training recipe: a step of
    the same compute as torchvision's/mmpretrain's ResNet-50 ImageNet step.
    """

    def __init__(self, depth: int, num_classes: int = 1000) -> None:
        super().__init__()
        from mmdet.models.backbones import ResNet

        # norm_eval=False: supervised training from scratch trains BN too (mmdet's default
        # True would make the reference cheaper than the step it stands for).
        self.backbone = ResNet(depth=depth, out_indices=(3, ), norm_eval=False,
                               zero_init_residual=False)
        width = 512 * (4 if depth >= 50 else 1)
        self.fc = torch.nn.Linear(width, num_classes)
        self.num_classes = num_classes

    def init_weights(self) -> None:
        self.backbone.init_weights()

    def loss(self, inputs: List[torch.Tensor], data_samples=None) -> Dict[str, torch.Tensor]:
        images = inputs[0]
        feats = self.backbone(images)[-1].mean(dim=(2, 3))
        labels = torch.arange(images.shape[0], device=images.device) % self.num_classes
        return dict(loss=torch.nn.functional.cross_entropy(self.fc(feats), labels))


def _build_mmpretrain_model(config: str, queue_len: Optional[int]) -> torch.nn.Module:
    """Build and initialise a model from one of mmpretrain's own configs."""
    model_cfg = mmpretrain_config(config).model.copy()
    if queue_len is not None and 'queue_len' in model_cfg:
        model_cfg['queue_len'] = queue_len
    model = build_mmpretrain_model(model_cfg)
    model.init_weights()
    return model


def build_model_for_benchmark(config: str, queue_len: Optional[int] = None,
                              channels_last: Optional[bool] = None) -> torch.nn.Module:
    """Build and initialise the model of ``config`` (no data, no Runner).

    ``config`` is an mmdense config path, ``mmpretrain::<path in mmpretrain's
    configs>`` for the mmpretrain reference implementation, or
    ``supervised::resnet<depth>`` (e.g. ``supervised::resnet50``) for a supervised
    classification step (:class:`SupervisedResNetReference`). ``channels_last`` None
    keeps each model's own memory format (an mmdense config's
    ``data_preprocessor.channels_last``; the default layout for the others), True or
    False imposes one.
    """
    if config.startswith(MMPRETRAIN_PREFIX) or config.startswith(SUPERVISED_PREFIX):
        if config.startswith(MMPRETRAIN_PREFIX):
            model = _build_mmpretrain_model(config, queue_len)
        else:
            depth = config[len(SUPERVISED_PREFIX):]
            if depth not in ('18', '34', '50', '101', '152'):
                raise ValueError(f'{config}: expected supervised::resnet18/34/50/101/152.')
            model = SupervisedResNetReference(int(depth))
            model.init_weights()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model
    cfg = Config.fromfile(config)
    model_cfg = cfg.model.copy()
    if 'data_preprocessor' not in model_cfg and cfg.get('data_preprocessor') is not None:
        model_cfg['data_preprocessor'] = cfg.data_preprocessor
    if queue_len is not None and 'queue_len' in model_cfg:
        model_cfg['queue_len'] = queue_len
    if channels_last is not None:
        model_cfg['data_preprocessor'] = dict(model_cfg.get('data_preprocessor') or
                                              dict(type='SelfSupDataPreprocessor'),
                                              channels_last=channels_last)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def uses_channels_last(model: torch.nn.Module) -> bool:
    """Whether ``model`` keeps its convolution weights in the channels-last format."""
    weights = [p for p in model.parameters() if p.dim() == 4]
    return bool(weights) and all(
        p.is_contiguous(memory_format=torch.channels_last) for p in weights)


def _init_single_process_group(device: str) -> bool:
    """Start a 1-process group so that shuffle-BN code paths run as in training.

    mmpretrain's DenseCL always calls collectives, and ours gathers and shuffles only
    under a process group: both must run the same way for a fair comparison.
    """
    import torch.distributed as dist
    if dist.is_available() and not dist.is_initialized():
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', str(29500 + os.getpid() % 1000))
        dist.init_process_group('nccl' if device.startswith('cuda') else 'gloo', rank=0,
                                world_size=1)
        return True
    return False


def _synthetic_batch(batch_size: int, image_size: int, device: str,
                     seed: int) -> List[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch_size, 3, image_size, image_size, generator=g).to(device) for _ in range(2)
    ]


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
                    seed: int = 0,
                    amp: Optional[str] = None,
                    channels_last: Optional[bool] = None,
                    process_group: Optional[bool] = None) -> Dict[str, Dict[str, float]]:
    """Median step time of each config's model on the same synthetic two-view batch.

    Steps of the models are interleaved (A, B, A, B, ...) so that machine noise
    hits all of them alike and their ratio is meaningful within one run. Every
    model gets the same data samples, carrying synthetic view boxes for the
    coordinate-aware ones (PixPro, PixContrast).

    Args:
        configs: Config paths to compare (``mmpretrain::...`` for the reference).
        batch_size: Images per step (each image gives two views).
        image_size: Side of the square views.
        warmup: Untimed steps per model first.
        repeats: Timed steps per model.
        device: ``'cpu'`` or ``'cuda'``.
        queue_len: Override of the queue length (None keeps the config's).
        seed: Seed of the synthetic inputs and model initialisation.
        amp: None, ``'fp16'`` (autocast + GradScaler, as mmengine's AmpOptimWrapper)
            or ``'bf16'`` (autocast only).
        channels_last: None: each model in its own memory format (ours as its config's
            ``data_preprocessor.channels_last``, mmpretrain's and the supervised reference
            in the default layout, as shipped); True or False: all models and inputs in the
            channels-last or the default format.
        process_group: Run under a 1-process group (shuffle-BN paths on); default:
            only when an mmpretrain model is compared, which needs one.

    Returns:
        dict: Per config, ``step_s`` (median), ``images_per_s`` and ``channels_last``
        (whether the model ran in that format); on CUDA also
        ``model_mb`` (parameters, buffers and optimizer state resident before the
        timed steps) and ``step_peak_mb`` (the extra peak one step of that model
        needs, measured in a separate untimed step so interleaving does not mix
        the models' peaks).
    """
    if amp not in (None, 'fp16', 'bf16'):
        raise ValueError(f"amp must be None, 'fp16' or 'bf16', got {amp!r}.")
    if amp and not device.startswith('cuda'):
        raise ValueError('--amp needs a CUDA device; CPU steps run in fp32.')
    if process_group is None:
        process_group = any(c.startswith(MMPRETRAIN_PREFIX) for c in configs)
    if process_group:
        _init_single_process_group(device)
    cuda = device.startswith('cuda')
    torch.manual_seed(seed)
    inputs = _synthetic_batch(batch_size, image_size, device, seed)
    if channels_last:
        inputs = [x.contiguous(memory_format=torch.channels_last) for x in inputs]
    data_samples = _synthetic_view_boxes(batch_size, seed)
    autocast_dtype = {'fp16': torch.float16, 'bf16': torch.bfloat16}.get(amp)
    runs = []
    for config in configs:
        torch.manual_seed(seed)
        model = build_model_for_benchmark(config, queue_len, channels_last).to(device).train()
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01,
                                    momentum=0.9)
        scaler = torch.amp.GradScaler('cuda') if amp == 'fp16' else None
        runs.append(dict(config=config, model=model, optimizer=optimizer, scaler=scaler, times=[]))

    def step(run: dict) -> float:
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast('cuda', dtype=autocast_dtype, enabled=autocast_dtype is not None):
            losses = run['model'].loss(inputs, data_samples)
        loss = sum(losses.values())
        run['optimizer'].zero_grad(set_to_none=True)
        if run['scaler'] is not None:
            run['scaler'].scale(loss).backward()
            run['scaler'].step(run['optimizer'])
            run['scaler'].update()
        else:
            loss.backward()
            run['optimizer'].step()
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for run in runs:
        step(run)  # first step: creates optimizer state, so memory below is steady state
        if cuda:
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            step(run)
            run['step_peak_mb'] = (torch.cuda.max_memory_allocated() - base) / 2**20
    if cuda:
        for run in runs:
            tensors = list(run['model'].parameters()) + list(run['model'].buffers()) + [
                t for state in run['optimizer'].state.values() for t in state.values()
                if torch.is_tensor(t)]
            run['model_mb'] = sum(t.numel() * t.element_size() for t in tensors) / 2**20
    for i in range(warmup + repeats):
        for run in runs:
            elapsed = step(run)
            if i >= warmup:
                run['times'].append(elapsed)
    results = {}
    for run in runs:
        median = statistics.median(run['times'])
        results[run['config']] = dict(step_s=median, images_per_s=batch_size / median,
                                      channels_last=uses_channels_last(run['model']))
        for key in ('model_mb', 'step_peak_mb'):
            if key in run:
                results[run['config']][key] = run[key]
    return results
