"""Common frame of the self-supervised algorithms: build parts, route ``forward`` modes."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel

from mmdense.registry import MODELS
from ..utils.pretraining_checks import check_norms_train, check_pretraining_part


class BaseSelfSupervisor(BaseModel):
    """Builds ``backbone``/``neck``/``head`` from configs and dispatches ``forward``.

    Subclasses implement :meth:`loss`. ``forward(mode='tensor')`` returns backbone
    features, which is what feature extraction and transfer use.

    Pre-training trains every norm layer and every online parameter: a backbone
    or neck that would freeze either (``norm_eval=True``, the default of mmdet's
    ``ResNet``; ``frozen_stages >= 0``; ``requires_grad=False`` norms) is refused
    when the model is built, and :meth:`train` refuses to leave any BatchNorm of
    any encoder, the momentum ones included, in eval mode.

    Args:
        backbone: Backbone config, e.g. ``dict(type='mmdet.ResNet', depth=50)``.
        neck: Neck config or None.
        head: Head config or None.
        data_preprocessor: Config of the preprocessor that normalises and stacks
            the views; defaults to ``SelfSupDataPreprocessor``.
        init_cfg: MMEngine initialisation config.
    """

    #: Views per image the algorithm consumes; checked before the first forward.
    num_views: int = 2

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='SelfSupDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        check_pretraining_part(self.backbone, 'model.backbone')
        self.neck = MODELS.build(neck) if neck is not None else None
        if self.neck is not None:
            check_pretraining_part(self.neck, 'model.neck')
        self.head = MODELS.build(head) if head is not None else None

    def train(self, mode: bool = True) -> 'BaseSelfSupervisor':
        """Set the training mode; in training mode, refuse norm layers left in eval mode."""
        super().train(mode)
        if mode:
            check_norms_train(self)
        return self

    def forward(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """Route to :meth:`extract_feat` (``'tensor'``) or :meth:`loss` (``'loss'``)."""
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        raise ValueError(f'{type(self).__name__}.forward got mode="{mode}"; self-supervised '
                         'pre-training supports "loss" and "tensor" only (evaluate through '
                         'the transfer benchmarks instead).')

    def extract_feat(self, inputs: Union[torch.Tensor, List[torch.Tensor]]) -> Tuple[torch.Tensor]:
        """Backbone features of one batch (the first view if given a list)."""
        if isinstance(inputs, (list, tuple)):
            inputs = inputs[0]
        return self.backbone(inputs)

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def _check_views(self, inputs: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        """Fail early and clearly when the pipeline does not produce enough views."""
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self.num_views:
            got = len(inputs) if isinstance(inputs, (list, tuple)) else 'a single tensor'
            raise ValueError(
                f'{name} needs {self.num_views} augmented views per image but got {got}; end '
                'the train pipeline with MultiView(num_views=2, ...) and PackSelfSupInputs.')
        batch_sizes = {int(view.shape[0]) for view in inputs}
        if len(batch_sizes) != 1:
            raise ValueError(f'{name} got views with different batch sizes {sorted(batch_sizes)}.')
        return inputs
