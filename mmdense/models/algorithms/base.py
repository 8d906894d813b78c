"""Common frame of the self-supervised algorithms: build the parts, route ``forward`` modes,
and (:class:`BaseMomentumSelfSupervisor`) keep momentum copies of online parts."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from mmdense.registry import MODELS
from ..utils.momentum import build_momentum_copy, momentum_update
from ..utils.pretraining_checks import check_norms_train, check_pretraining_part

__all__ = ['BaseSelfSupervisor', 'BaseMomentumSelfSupervisor']


class BaseSelfSupervisor(BaseModel):
    """Builds ``backbone``/``neck``/``loss`` from configs and dispatches ``forward``.

    Subclasses implement :meth:`loss` and may set ``default_loss``, the loss config used
    when ``loss`` is None; the built loss module is ``self.criterion``.
    ``forward(mode='tensor')`` returns backbone features, which is what feature
    extraction and transfer use.

    Pre-training trains every norm layer and every online parameter: a backbone
    or neck that would freeze either (``norm_eval=True``, the default of mmdet's
    ``ResNet``; ``frozen_stages >= 0``; ``requires_grad=False`` norms) is refused
    when the model is built, and :meth:`train` refuses to leave any BatchNorm of
    any encoder, the momentum ones included, in eval mode.

    Args:
        backbone: Backbone config, e.g. ``dict(type='mmdet.ResNet', depth=50)``.
        neck: Neck config or None.
        loss: Loss module config (a registered loss, e.g. ``InfoNCELoss``); None takes
            the class's ``default_loss``.
        data_preprocessor: Config of the preprocessor that normalises and stacks
            the views; defaults to ``SelfSupDataPreprocessor``.
        init_cfg: MMEngine initialisation config.
    """

    #: Views per image the algorithm consumes; checked by the config pre-flight and
    #: before the first forward.
    num_views: int = 2
    #: Loss config used when the ``loss`` argument is None (None: the algorithm has none).
    default_loss: Optional[dict] = None
    #: State-dict prefix of the encoder that transfer extracts by default.
    transfer_encoder: str = 'backbone'

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 loss: Optional[dict] = None,
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
        loss = loss if loss is not None else self.default_loss
        self.criterion = MODELS.build(loss) if loss is not None else None
        if self.channels_last:
            # Here already, before the Runner wraps the model in DDP (whose gradient buckets
            # take the parameters' layout) and before momentum copies are made of them.
            self.to(memory_format=torch.channels_last)

    @property
    def channels_last(self) -> bool:
        """Whether batches and weights use the channels-last memory format.

        Set by the data preprocessor's ``channels_last`` (the R50 configs turn it on).
        """
        return bool(getattr(self.data_preprocessor, 'channels_last', False))

    def init_weights(self) -> None:
        """Initialise as configured, in the default layout, then move to channels-last if asked.

        Random initialisers fill a tensor in memory order, so initialising in the
        channels-last layout would draw other weights from the same seed; the
        round trip keeps a seed's weights the same in both layouts. The moves are in
        place (``param.data``), so optimisers and DDP keep their parameters; the
        second one also catches parts a subclass built after ``__init__`` (PixPro's
        PPM), and a checkpoint loaded later is copied into this layout.
        """
        if self.channels_last:
            self.to(memory_format=torch.contiguous_format)
        super().init_weights()
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

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
        if self.channels_last:
            # A no-op for the preprocessor's batches; converts those handed in directly.
            inputs = [view.contiguous(memory_format=torch.channels_last) for view in inputs]
        return inputs


class BaseMomentumSelfSupervisor(BaseSelfSupervisor):
    """A self-supervisor with momentum (EMA) copies of some of its online parts.

    The copies of ``backbone`` and ``neck`` are built here as ``momentum_backbone`` and
    ``momentum_neck``; subclasses add others with :meth:`add_momentum_copy` (PixPro's
    instance projector). Every copy starts as an exact copy of its online part at
    :meth:`init_weights`, never receives gradients, keeps its own buffers (BN running
    statistics, as in the MoCo reference) and follows
    ``theta_k <- m * theta_k + (1 - m) * theta_q`` in :meth:`update_momentum`.
    ``self.momentum`` is ``m``; :class:`~mmdense.engine.hooks.MomentumScheduleHook`
    may schedule it from ``self.base_momentum``.

    Args:
        backbone: Backbone config.
        neck: Neck config or None.
        loss: Loss config or None (the class's ``default_loss``).
        momentum: EMA coefficient ``m`` in [0, 1] (its starting value when scheduled).
        data_preprocessor: Preprocessor config.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 momentum: float = 0.99,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, neck, loss, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'{type(self).__name__}: momentum must lie in [0, 1], got {momentum}.')
        self.base_momentum = momentum
        self.momentum = momentum
        self._momentum_names: List[str] = []
        self.add_momentum_copy('backbone')
        if self.neck is not None:
            self.add_momentum_copy('neck')

    def add_momentum_copy(self, name: str) -> nn.Module:
        """Build ``momentum_<name>``, the momentum copy of the online part ``name``."""
        copy = build_momentum_copy(getattr(self, name))
        setattr(self, f'momentum_{name}', copy)
        self._momentum_names.append(name)
        return copy

    def momentum_pairs(self) -> List[Tuple[nn.Module, nn.Module]]:
        """``(online, momentum)`` module pairs, in the order they were added."""
        return [(getattr(self, n), getattr(self, f'momentum_{n}')) for n in self._momentum_names]

    def init_weights(self) -> None:
        """Initialise the online parts, then start every momentum copy as their copy."""
        super().init_weights()
        for online, momentum in self.momentum_pairs():
            momentum.load_state_dict(online.state_dict())

    @torch.no_grad()
    def update_momentum(self) -> None:
        """One EMA step of every momentum copy with the current ``self.momentum``."""
        for online, momentum in self.momentum_pairs():
            momentum_update(momentum, online, self.momentum)
