"""DenseCL (Wang et al., CVPR 2021): dense contrastive learning beside MoCo v2."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from mmdense.registry import MODELS
from ..utils import FeatureQueue
from .mocov2 import MoCoV2


@MODELS.register_module()
class DenseCL(MoCoV2):
    """DenseCL: a MoCo v2 global loss plus a pixel-level InfoNCE.

    For each of the ``S x S`` query cells, the positive key is the key cell whose
    *backbone* C5 feature is most cosine-similar to the query cell's backbone
    feature (argmax over key cells). Dense negatives come from a second queue of
    spatially averaged key dense embeddings. The two losses are mixed as
    ``(1 - lambda) * L_single + lambda * L_dense``; a warm-up hook
    (:class:`DenseCLWarmupHook`) sets ``lambda = 0`` for the first iterations.

    Args:
        backbone: Backbone config (ResNet C5 output, ``out_indices=(3, )``).
        neck: :class:`DenseCLNeck` config.
        loss: :class:`InfoNCELoss` config, shared by both losses (temperature 0.2).
        queue_len: Length of each of the two queues (65536).
        feat_dim: Embedding size (128).
        momentum: EMA coefficient of the key encoder (0.999).
        loss_lambda: Weight ``lambda`` of the dense loss (0.5).
        bn_splits: Single-device shuffle-BN emulation, see :class:`MoCoV2`.
        data_preprocessor: Preprocessor config.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 loss: Optional[dict] = None,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.999,
                 loss_lambda: float = 0.5,
                 bn_splits: int = 1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, neck, loss, queue_len=queue_len, feat_dim=feat_dim,
                         momentum=momentum, bn_splits=bn_splits,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0.0 <= loss_lambda <= 1.0:
            raise ValueError(f'loss_lambda must lie in [0, 1] (0.5 in DenseCL), got {loss_lambda}.')
        self.loss_lambda = loss_lambda
        self.dense_queue = FeatureQueue(queue_len, feat_dim)

    def _backbone_grid(self, feats: tuple) -> torch.Tensor:
        """L2-normalised C5 features on the neck's grid, ``(N, C5, S*S)``."""
        feat = feats[-1]
        if self.neck.num_grid is not None:
            feat = F.adaptive_avg_pool2d(feat, self.neck.num_grid)
        return F.normalize(feat.flatten(2), dim=1)

    @staticmethod
    def match_key_cells(q_backbone: torch.Tensor, k_backbone: torch.Tensor) -> torch.Tensor:
        """Index of the most similar key cell for every query cell.

        Args:
            q_backbone: Normalised query backbone features ``(N, C, Sq)``.
            k_backbone: Normalised key backbone features ``(N, C, Sk)``.

        Returns:
            Long tensor ``(N, Sq)`` of key cell indices.
        """
        sim = torch.einsum('ncq,nck->nqk', q_backbone, k_backbone)
        return sim.argmax(dim=2)

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        """Global and dense InfoNCE of the query view against the key view.

        Args:
            inputs: Two views, each ``(N, 3, H, W)``.
            data_samples: Unused.

        Returns:
            dict: ``loss_single`` (weighted ``1 - lambda``) and ``loss_dense``
            (weighted ``lambda``).
        """
        im_q, im_k = self._check_views(inputs)[:2]
        q_feats = self.backbone(im_q)
        q, q_dense, _ = self.neck(q_feats)
        q = F.normalize(q, dim=1)
        q_dense = F.normalize(q_dense, dim=1)  # (N, D, S*S)

        k_feats, (k, k_dense, k_pooled) = self.momentum_forward(im_k)
        k = F.normalize(k, dim=1)
        k_dense = F.normalize(k_dense, dim=1)
        k_pooled = F.normalize(k_pooled, dim=1)

        # Correspondence from backbone features, not projections; argmax has no
        # gradient, so it is computed outside the graph.
        with torch.no_grad():
            match = self.match_key_cells(self._backbone_grid(q_feats), self._backbone_grid(k_feats))
        matched_k = torch.gather(k_dense, 2, match.unsqueeze(1).expand(-1, k_dense.shape[1], -1))
        pos_dense = (q_dense * matched_k).sum(dim=1).reshape(-1, 1)  # (N*S*S, 1)
        q_cells = q_dense.transpose(1, 2).reshape(-1, q_dense.shape[1])  # (N*S*S, D)

        pos = (q * k).sum(dim=1, keepdim=True)
        # The loss reads the queues only during these calls (its gradients are computed
        # there), so they are updated in place right after, before backward.
        loss_single = self.criterion(q, pos, self.queue.feats)
        # The dense logits are the large ones (N*S*S rows); the loss's chunk_size bounds
        # their transient buffer.
        loss_dense = self.criterion(q_cells, pos_dense, self.dense_queue.feats)
        self.queue.enqueue(k)
        self.dense_queue.enqueue(k_pooled)
        return dict(loss_single=loss_single * (1 - self.loss_lambda),
                    loss_dense=loss_dense * self.loss_lambda)
