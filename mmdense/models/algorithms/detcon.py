"""DetCon-B (Henaff et al., ICCV 2021): contrastive detection over unsupervised masks."""
from typing import Dict, List, Optional, Sequence

import torch

from mmdense.registry import MODELS
from ..utils.mask_pooling import downsample_masks, mask_pool, sample_mask_ids
from .base import BaseMomentumSelfSupervisor


def grid_masks(view_boxes: torch.Tensor, size, cells: int) -> torch.Tensor:
    """The paper's spatial-heuristic masks: a ``cells`` x ``cells`` grid over the original image.

    Each view pixel takes the id of the grid cell of the original image that its centre
    maps to through the view box, so ids follow crop and flip like Felzenszwalb masks.

    Args:
        view_boxes: One view's boxes ``(B, 4)``, normalised ``(x1, y1, x2, y2)``.
        size: View size ``(H, W)``.
        cells: Grid cells per side.

    Returns:
        torch.Tensor: int64 ``(B, H, W)`` ids in ``[0, cells**2)``.
    """
    height, width = size
    u = (torch.arange(width, device=view_boxes.device, dtype=torch.float64) + 0.5) / width
    v = (torch.arange(height, device=view_boxes.device, dtype=torch.float64) + 0.5) / height
    boxes = view_boxes.double()
    x = boxes[:, 0:1] + u[None] * (boxes[:, 2:3] - boxes[:, 0:1])  # (B, W)
    y = boxes[:, 1:2] + v[None] * (boxes[:, 3:4] - boxes[:, 1:2])  # (B, H)
    col = (x * cells).floor().clamp(0, cells - 1).long()
    row = (y * cells).floor().clamp(0, cells - 1).long()
    return row[:, :, None] * cells + col[:, None, :]


def stack_view_masks(data_samples: Optional[list], views: Sequence[torch.Tensor],
                     grid_cells: Optional[int] = None) -> List[torch.Tensor]:
    """Per-view batches of the masks: carried through crop and flip, or the grid heuristic.

    Args:
        data_samples: One per image, each with ``seg_masks`` ``(V, H, W)`` (or, for
            grid masks, ``view_boxes`` ``(V, 4)``).
        views: The view batches ``(B, 3, H, W)``.
        grid_cells: None: the samples must carry ``seg_masks`` (a missing one is an
            error, never a silent substitute); an int: :func:`grid_masks` of that many
            cells per side from the view boxes (the paper's spatial heuristic).

    Returns:
        list[torch.Tensor]: One int64 tensor ``(B, H, W)`` per view.
    """
    device, size = views[0].device, tuple(views[0].shape[-2:])
    samples = data_samples or []
    if len(samples) != views[0].shape[0]:
        raise ValueError(f'DetCon needs one data sample per image, got {len(samples)} for '
                         f'{views[0].shape[0]} images.')
    if grid_cells is None:
        if any(getattr(s, 'seg_masks', None) is None for s in samples):
            raise ValueError(
                'DetCon needs a mask per view in every data sample (`seg_masks`): put '
                'LoadFelzenszwalbMask after LoadImageFromFile in the train pipeline '
                '(configs/_base_/datasets/imagenet_detcon.py) and generate the masks with '
                "tools/misc/generate_masks.py (docs/detcon.md); or set model.mask_source='grid' "
                "for the paper's spatial-heuristic masks.")
        masks = torch.stack([s.seg_masks for s in samples]).to(device=device, dtype=torch.long)
        if masks.dim() != 4 or masks.shape[1] < len(views) or tuple(masks.shape[-2:]) != size:
            raise ValueError(f'seg_masks must be (V >= {len(views)}, {size[0]}, {size[1]}) per '
                             f'sample to match the views, got {tuple(masks.shape[1:])}')
        return [masks[:, v] for v in range(len(views))]
    if any(getattr(s, 'view_boxes', None) is None for s in samples):
        raise ValueError("DetCon with mask_source='grid' needs `view_boxes` in every data "
                         'sample: end each view pipeline with the *WithBox crop and flip.')
    boxes = torch.stack([s.view_boxes for s in samples]).to(device)
    return [grid_masks(boxes[:, v], size, grid_cells) for v in range(len(views))]


@MODELS.register_module()
class DetCon(BaseMomentumSelfSupervisor):
    """DetCon-B: BYOL-style networks, a contrastive loss between mask-pooled features.

    Each view's mask (Felzenszwalb ids, cropped and flipped with the view) is
    reduced to the res5 grid by majority (:func:`downsample_masks`); ``num_masks``
    ids are drawn per view with replacement among the ids present
    (:func:`sample_mask_ids`); the res5 map is averaged under each drawn mask
    (:func:`mask_pool`) and goes through the online projector (``neck``) and
    ``predictor``, and, with the *same* ids, through the EMA target encoder and
    projector. :class:`DetConLoss` contrasts predictions against targets, both ways.

    The EMA coefficient ``self.momentum`` starts at 0.996;
    :class:`MomentumScheduleHook` raises it to 1 as ``1 - (1 - 0.996)(cos(pi k/K) + 1)/2``.
    The online ``backbone`` is what transfers.

    Differences from the authors' code (google-deepmind/detcon):

    * the target network starts as a copy of the online one (the authors initialise it
      with another random key; they report no difference);
    * the target is updated at the start of each step, before its forward pass, with the
      hook's coefficient for that step (the authors update it after the optimizer step with
      the coefficient of the step just taken): the same targets, the schedule shifted by one
      iteration;
    * no online linear classifier on stop-gradient features (it does not touch the
      representation);
    * mask ids keep their full range (uint16 PNGs when an image has more than 256
      segments); the authors store ``uint8`` ids, which wraps ids above 255 onto
      smaller ones, and one-hot only ids below 256.

    Args:
        backbone: Backbone config (ResNet res5, ``out_indices=(3, )``).
        neck: Projector config, ``DetConMLP(2048, 4096, 256)``.
        predictor: Predictor config, ``DetConMLP(256, 4096, 256)``.
        loss: Loss config, :class:`DetConLoss` (T = 0.1).
        num_masks: Masks sampled per view (16).
        mask_source: ``'felzenszwalb'`` (default): the masks the pipeline loads
            (``LoadFelzenszwalbMask``), required in every sample; ``'grid'``: the paper's
            spatial heuristic, a grid over the original image mapped through the view
            boxes (no mask files needed).
        grid_cells: Cells per side of the ``'grid'`` masks; None: the res5 grid's side
            (7 at 224 px).
        momentum: Starting EMA coefficient (0.996).
        data_preprocessor: Preprocessor config.
        init_cfg: MMEngine initialisation config.
    """

    default_loss = dict(type='DetConLoss', temperature=0.1)

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 predictor: dict,
                 loss: Optional[dict] = None,
                 num_masks: int = 16,
                 mask_source: str = 'felzenszwalb',
                 grid_cells: Optional[int] = None,
                 momentum: float = 0.996,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, neck, loss, momentum=momentum,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_masks < 1:
            raise ValueError(f'num_masks must be >= 1, got {num_masks}')
        if mask_source not in ('felzenszwalb', 'grid'):
            raise ValueError(f"mask_source must be 'felzenszwalb' or 'grid', got {mask_source!r}")
        self.num_masks = num_masks
        self.mask_source = mask_source
        self.grid_cells = grid_cells
        self.predictor = MODELS.build(predictor)

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        """DetCon-B loss of one batch.

        Args:
            inputs: Two views, each ``(B, 3, H, W)``.
            data_samples: One per image, with ``seg_masks`` ``(2, H, W)`` (mask ids of
                each view, aligned with its pixels).

        Returns:
            dict: ``loss_detcon``.
        """
        views = self._check_views(inputs)[:2]
        cells = None
        if self.mask_source == 'grid':
            cells = self.grid_cells
            if cells is None:  # the res5 side: the input size over the backbone's stride (32)
                cells = max(1, views[0].shape[-1] // 32)
        masks = stack_view_masks(data_samples, views, cells)
        feats = [self.backbone(v)[-1] for v in views]
        cell_ids = [downsample_masks(m, f.shape[-2:]) for m, f in zip(masks, feats)]
        ids = [sample_mask_ids(c, self.num_masks) for c in cell_ids]
        preds = [self.predictor(self.neck(mask_pool(f, c, i)))
                 for f, c, i in zip(feats, cell_ids, ids)]

        with torch.no_grad():
            self.update_momentum()
            # The target pools under the online branch's ids, as in the authors' code.
            targets = [self.momentum_neck(mask_pool(self.momentum_backbone(v)[-1], c, i))
                       for v, c, i in zip(views, cell_ids, ids)]
        return dict(loss_detcon=self.criterion(preds, targets, ids))
