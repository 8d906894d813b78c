"""MoCo v2 (Chen et al., 2020): momentum contrast with an MLP head and a key queue."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from mmdense.registry import MODELS
from ..utils import FeatureQueue, batch_shuffle_ddp, batch_unshuffle_ddp, convert_to_split_bn
from .base import BaseMomentumSelfSupervisor


@MODELS.register_module()
class MoCoV2(BaseMomentumSelfSupervisor):
    """MoCo v2: InfoNCE between a query and its momentum-encoded key.

    Negatives are the keys of previous batches, kept in a queue. Keys are
    encoded with shuffle-BN: the key batch is shuffled across ranks before the
    momentum encoder and unshuffled after it.

    Args:
        backbone: Backbone config (ResNet C5 output, ``out_indices=(3, )``).
        neck: Projection neck config (:class:`MoCoV2Neck`).
        loss: Queue InfoNCE config (:class:`InfoNCELoss`, temperature 0.2).
        queue_len: Number of negative keys ``K`` (65536).
        feat_dim: Embedding size of the neck output (128).
        momentum: EMA coefficient ``m`` of the key encoder,
            ``theta_k <- m * theta_k + (1 - m) * theta_q`` (0.999).
        bn_splits: Split every BN's training batch into this many sub-batches
            (:class:`SplitBatchNorm2d`) in both encoders. With the key batch
            shuffled, this reproduces N-GPU shuffle-BN on one device (e.g. 8 for
            batch 256 on one GPU = the 8x32 reference). Keep 1 on multi-GPU runs.
        data_preprocessor: Preprocessor config.
        init_cfg: MMEngine initialisation config.
    """

    default_loss = dict(type='InfoNCELoss', temperature=0.2)

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 loss: Optional[dict] = None,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.999,
                 bn_splits: int = 1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, neck, loss, momentum=momentum,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if bn_splits > 1:
            for name in ('backbone', 'neck', 'momentum_backbone', 'momentum_neck'):
                setattr(self, name, convert_to_split_bn(getattr(self, name), bn_splits))
        neck_out = neck.get('out_channels')
        if neck_out is not None and neck_out != feat_dim:
            raise ValueError(f'{type(self).__name__}: feat_dim={feat_dim} must equal the neck\'s '
                             f'out_channels={neck_out} (the queue stores neck embeddings).')
        self.queue = FeatureQueue(queue_len, feat_dim)

    @torch.no_grad()
    def momentum_forward(self, im_k: torch.Tensor) -> Tuple[Tuple[torch.Tensor], tuple]:
        """Update the key encoder, then encode keys with shuffle-BN.

        Args:
            im_k: Key view ``(N, 3, H, W)``.

        Returns:
            tuple: Key backbone outputs and key neck outputs, in the original
            sample order.
        """
        self.update_momentum()
        im_k, idx_unshuffle = batch_shuffle_ddp(im_k)
        backbone_outs = self.momentum_backbone(im_k)
        neck_outs = self.momentum_neck(backbone_outs)
        return tuple(tuple(batch_unshuffle_ddp(o, idx_unshuffle) for o in outs)
                     for outs in (backbone_outs, neck_outs))

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        """InfoNCE of the first view (query) against the second (key) and the queue.

        Args:
            inputs: Two views, each ``(N, 3, H, W)``.
            data_samples: Unused.

        Returns:
            dict: ``loss``.
        """
        im_q, im_k = self._check_views(inputs)[:2]
        q = F.normalize(self.neck(self.backbone(im_q))[0], dim=1)
        _, (k, ) = self.momentum_forward(im_k)
        k = F.normalize(k, dim=1)

        pos = (q * k).sum(dim=1, keepdim=True)
        # The queue is only read during the call, so it can be updated right after.
        loss = self.criterion(q, pos, self.queue.feats)
        self.queue.enqueue(k)
        return dict(loss=loss)
