"""Per-view photometric augmentation of whole batches, with a seeded, resumable generator."""
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.dist import get_rank

from mmdense.registry import MODELS
from . import photometric_ops  # noqa: F401 (registers the Batched* ops)

__all__ = ['BatchedPhotometricAugment']


@MODELS.register_module()
class BatchedPhotometricAugment:
    """The photometric half of the view pipelines, run on each view's batch.

    Arguments mirror :class:`~mmdense.datasets.transforms.MultiView`: ``num_views[i]`` views
    get the ops of ``transforms[i]``, in the order of the views the data loader packs (MoCo
    v2: ``num_views=2, transforms=[ops]``; BYOL: ``num_views=[1, 1], transforms=[ops1,
    ops2]``). Ops are configs of the ``Batched*`` ops (:mod:`.photometric_ops`), applied in
    list order, each to a sample with its ``prob``.

    Parameters are drawn on the CPU from a dedicated ``torch.Generator``, re-seeded for every
    batch from ``(seed, rank, step)``: ``seed`` is the run's seed (``torch.initial_seed()``
    when built, which MMEngine's ``randomness.seed`` has set), ``rank`` the process rank, so
    ranks draw different parameters, and ``step`` counts the augmented batches. The stream is
    thus fixed by the seed and the step alone: :meth:`state_dict` (two integers, equal on every
    rank) is all a resumed run needs, and ``RNGStateHook`` saves and restores it.

    Args:
        num_views: Views per op list: an int for one list, or one count per list.
        transforms: One list of op configs per entry of ``num_views``.
        seed: Base seed; None takes ``torch.initial_seed()`` at construction.
    """

    def __init__(self, num_views: int | Sequence[int], transforms: Sequence[Sequence[dict]],
                 seed: int | None = None) -> None:
        counts = [num_views] if isinstance(num_views, int) else list(num_views)
        if len(counts) != len(transforms) or any(n < 1 for n in counts):
            raise ValueError(f'num_views {num_views} needs one positive count per op list, got '
                             f'{len(transforms)} lists')
        self.view_ops = []
        for count, pipeline in zip(counts, transforms):
            built = [MODELS.build(t) if isinstance(t, dict) else t for t in pipeline]
            self.view_ops.extend([built] * count)
        self.seed = int(torch.initial_seed() if seed is None else seed)
        self.step = 0
        self.generator = torch.Generator()

    @property
    def num_views(self) -> int:
        """Total number of views."""
        return len(self.view_ops)

    def _seed_of_step(self, step: int) -> int:
        # SeedSequence hashes the triple, so neighbouring steps and ranks get unrelated streams.
        words = np.random.SeedSequence([self.seed, get_rank(), step]).generate_state(2, np.uint64)
        return int(words[0])

    def sample(self, batch_sizes: Sequence[int]) -> list[list[dict]]:
        """Draw the next batch's parameters and advance the step.

        Args:
            batch_sizes: Number of samples of each view.

        Returns:
            list[list[dict]]: Per view, per op, the op's parameter dict (CPU tensors).
        """
        if len(batch_sizes) != self.num_views:
            raise ValueError(f'the photometric augmentation is configured for {self.num_views} '
                             f'views, the batch has {len(batch_sizes)}')
        self.generator.manual_seed(self._seed_of_step(self.step))
        self.step += 1
        return [[op.sample(num, self.generator) for op in ops]
                for ops, num in zip(self.view_ops, batch_sizes)]

    def apply(self, views: Sequence[torch.Tensor], params: list[list[dict]]) -> list[torch.Tensor]:
        """Apply drawn parameters to ``(N, 3, H, W)`` RGB float batches of uint8 levels."""
        out = []
        for ops, view_params, view in zip(self.view_ops, params, views):
            for op, op_params in zip(ops, view_params):
                view = op.apply(view, op_params)
            out.append(view)
        return out

    def __call__(self, views: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Augment one batch of views with freshly drawn parameters."""
        return self.apply(views, self.sample([len(v) for v in views]))

    def state_dict(self) -> dict:
        """The generator's state: ``seed`` and ``step``."""
        return dict(seed=self.seed, step=self.step)

    def load_state_dict(self, state: dict) -> None:
        """Continue the stream of a saved :meth:`state_dict`."""
        self.seed, self.step = int(state['seed']), int(state['step'])

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(view_ops={self.view_ops}, seed={self.seed}, '
                f'step={self.step})')
