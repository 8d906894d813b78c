"""InfoNCE over one positive and a set of negatives per query."""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class ContrastiveHead(BaseModule):
    """InfoNCE loss ``-log(exp(pos/T) / (exp(pos/T) + sum exp(neg/T)))``.

    The logits are the concatenation ``[pos, neg] / T`` with the positive at
    index 0, so the loss is the cross-entropy against class 0.

    Args:
        temperature: ``T`` (0.2 for MoCo v2 and DenseCL).
        init_cfg: MMEngine initialisation config (the head has no weights).
    """

    def __init__(self, temperature: float = 0.2, init_cfg=None) -> None:
        super().__init__(init_cfg)
        if temperature <= 0:
            raise ValueError(f'ContrastiveHead temperature must be positive, got {temperature}.')
        self.temperature = temperature

    def loss(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Mean InfoNCE over queries.

        Args:
            pos: Similarity of each query to its positive, ``(M, 1)``.
            neg: Similarity of each query to the negatives, ``(M, K)``.

        Returns:
            Scalar loss.
        """
        logits = torch.cat([pos, neg], dim=1) / self.temperature
        # Cross-entropy in at least fp32: under AMP, fp16 logits of 65k negatives
        # lose the positive's contribution to the log-sum-exp.
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, labels)
