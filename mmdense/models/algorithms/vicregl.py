"""VICRegL (Bardes et al., NeurIPS 2022): VICReg on global embeddings and on matched local ones."""
from typing import Dict, List, Optional, Sequence

import torch

from mmdense.registry import MODELS
from ..utils.vicregl_matching import vicregl_location_grid
from ..utils.view_geometry import stack_view_boxes
from .base import BaseSelfSupervisor


@MODELS.register_module()
class VICRegL(BaseSelfSupervisor):
    """VICRegL: ``alpha`` x global VICReg + ``(1 - alpha)`` x local VICReg.

    Every view (2 global crops first, then any local crops, possibly of another
    size) goes through the one encoder (``backbone``, res5), **one view per
    forward** as in the authors' loop, so each view's BatchNorm statistics are
    its own batch's. The global term (``loss``, :class:`VICRegLoss`) takes the
    expander (``neck``, 2048-8192-8192-8192) of the average-pooled res5; the
    local term (``local_loss``, :class:`VICRegLLocalLoss`) takes the maps
    expander (``maps_neck``, 2048-512-512-512 at every location) of the res5
    map, matched between views by feature distance and by the location of the
    cells in the original image (:func:`vicregl_location_grid` from the view
    boxes; pixels when the data samples carry ``ori_shape``). There is no
    momentum encoder: the online ``backbone.`` is what transfers.

    Views of different sizes arrive as a list of batches, one per view (what
    :class:`SelfSupDataPreprocessor` returns), so multi-crop needs no stacking.

    Differences from the authors' code (facebookresearch/VICRegL):

    - no online linear classifier on the detached representation (it needs
      labels and never reaches the encoder; the authors add its loss to the total);
    - grids take the size of each view's res5 map (the authors hard-code 7x7 for
      the global and 3x3 for the local crops, the same at 224/96 px for ResNet);
    - match ties keep the lower index (stable sort), and ``num_matches`` above the
      number of positions keeps all of them (theirs fails);
    - their ResNet pads the input once more (``ConstantPad2d(1)`` then ``conv1``
      with padding 2) and their data normalise with std 0.228 for red; ours is
      mmdet's ResNet and std 0.229. See configs/vicregl/README.md.

    Args:
        backbone: Backbone config (ResNet C5, ``out_indices=(3, )``).
        neck: Global expander config (:class:`VICRegExpander`); unused and not
            built when ``alpha == 0``.
        maps_neck: Maps expander config; not built when ``alpha == 1``.
        loss: Global loss config, :class:`VICRegLoss` by default.
        local_loss: Local loss config, :class:`VICRegLLocalLoss` by default.
        alpha: Weight of the global term (0.75; the authors also release 0.9).
        mirror_flip_grid: Mirror the location grid of flipped views (False: the
            authors' default ``--no-flip-grid 1``).
        data_preprocessor: Preprocessor config.
        init_cfg: MMEngine initialisation config.
    """

    default_loss = dict(type='VICRegLoss')
    #: Any number of views from 2 on (2 global crops, then local ones): not a fixed count, so
    #: the config pre-flight's exact view-count check does not apply; :meth:`_check_views`
    #: asks for ``min_views``.
    num_views = None
    min_views: int = 2

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 maps_neck: dict,
                 loss: Optional[dict] = None,
                 local_loss: Optional[dict] = None,
                 alpha: float = 0.75,
                 mirror_flip_grid: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'VICRegL: alpha must lie in [0, 1], got {alpha}')
        # The authors build only the expanders a term uses; unused ones would get no gradient.
        super().__init__(backbone, neck if alpha > 0 else None, loss,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.maps_neck = MODELS.build(maps_neck) if alpha < 1 else None
        self.local_criterion = MODELS.build(
            local_loss if local_loss is not None else dict(type='VICRegLLocalLoss'))
        self.alpha = alpha
        self.mirror_flip_grid = mirror_flip_grid

    def _check_views(self, inputs: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        """At least two views (the global crops), one batch size."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self.min_views:
            got = len(inputs) if isinstance(inputs, (list, tuple)) else 'a single tensor'
            raise ValueError(
                f'VICRegL needs at least {self.min_views} augmented views per image (2 global '
                f'crops, then any local ones) but got {got}; end the train pipeline with '
                'MultiView and PackSelfSupInputs.')
        if len({int(view.shape[0]) for view in inputs}) != 1:
            raise ValueError('VICRegL got views with different batch sizes '
                             f'{sorted({int(v.shape[0]) for v in inputs})}.')
        return inputs

    def _location_grids(self, data_samples: Optional[list], shapes: Sequence[tuple],
                        device: torch.device) -> List[torch.Tensor]:
        """Per view ``(N, H*W, 2)`` cell centres, in pixels when ``ori_shape`` is known."""
        boxes = stack_view_boxes(data_samples, len(shapes))
        sizes = None
        if all(s.metainfo.get('ori_shape') is not None for s in data_samples):
            sizes = torch.tensor([tuple(s.metainfo['ori_shape'][:2]) for s in data_samples],
                                 dtype=torch.float64)
        return [vicregl_location_grid(b.double(), h, w, sizes, self.mirror_flip_grid).to(device)
                for b, (h, w) in zip(boxes, shapes)]

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        """Weighted global and local VICReg terms.

        Args:
            inputs: V >= 2 views, each ``(N, 3, H_v, W_v)``; the first two are the
                global crops.
            data_samples: One per image, with ``view_boxes`` (V, 4) and, for pixel
                grids, ``ori_shape`` in the metainfo.

        Returns:
            dict: ``loss_global`` and ``loss_local`` (already weighted by ``alpha``
            and ``1 - alpha``), plus their unweighted ``inv_*``/``var_*``/``cov_*``
            parts for the logs (detached).
        """
        views = self._check_views(inputs)
        maps = [self.backbone(v)[-1] for v in views]
        losses: Dict[str, torch.Tensor] = {}
        if self.alpha > 0:
            terms = self.criterion([self.neck(m.mean(dim=(2, 3))) for m in maps])
            losses['loss_global'] = self.alpha * sum(terms.values())
            losses.update({f'{k}_global': v.detach() for k, v in terms.items()})
        if self.alpha < 1:
            grids = self._location_grids(data_samples, [tuple(m.shape[2:]) for m in maps],
                                         maps[0].device)
            terms = self.local_criterion([self.maps_neck(m) for m in maps], grids)
            losses['loss_local'] = (1 - self.alpha) * sum(terms.values())
            losses.update({f'{k}_local': v.detach() for k, v in terms.items()})
        return losses
