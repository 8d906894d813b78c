"""View-box geometry: where each view lies in the original image, and which feature-map cells
of two views see the same place of it (PixPro's positives, shared by the dense losses)."""
from typing import Sequence

import torch

__all__ = ['stack_view_boxes', 'check_view_maps', 'cell_centres', 'bin_diagonal', 'cell_distance',
           'pixel_positive_mask']


def stack_view_boxes(data_samples: Sequence | None, num_views: int) -> list[torch.Tensor]:
    """Per-view view-box batches from the data samples that the preprocessor passes on.

    :class:`~mmdense.datasets.transforms.PackSelfSupInputs` stores each
    sample's boxes as ``view_boxes`` (V, 4); the preprocessor moves them to the
    device with the samples. Coordinate-aware losses (PixPro, PixContrast) need
    them batched per view, in the order of the input views.

    Args:
        data_samples: The preprocessor's ``data_samples`` output, one per image.
        num_views: Number of views the caller needs.

    Returns:
        list[torch.Tensor]: ``num_views`` float32 tensors ``(N, 4)``,
        ``(x1, y1, x2, y2)`` normalised to the original image.
    """
    if not data_samples or any(getattr(s, 'view_boxes', None) is None for s in data_samples):
        raise ValueError('view boxes missing from the data samples: coordinate-aware algorithms '
                         'need RandomResizedCropWithBox (and RandomFlipWithBox) in every view '
                         'pipeline and PackSelfSupInputs at the end of the train pipeline.')
    boxes = torch.stack([s.view_boxes for s in data_samples]).float()  # (N, V, 4)
    if boxes.dim() != 3 or boxes.shape[1] < num_views or boxes.shape[2] != 4:
        raise ValueError(f'expected view boxes (N, >= {num_views}, 4), got {tuple(boxes.shape)}')
    return list(boxes[:, :num_views].unbind(dim=1))


def check_view_maps(query: torch.Tensor, key: torch.Tensor) -> None:
    """Refuse two views' feature maps that a dense loss cannot pair.

    Args:
        query: ``(N, C, Hq, Wq)``.
        key: ``(N, C, Hk, Wk)``, same ``N`` and ``C``.

    Raises:
        ValueError: Naming both shapes.
    """
    if query.dim() != 4 or key.dim() != 4 or query.shape[:2] != key.shape[:2]:
        raise ValueError('the two views\' maps must be (N, C, H, W) with equal N and C, got '
                         f'{tuple(query.shape)} and {tuple(key.shape)}')


def cell_centres(coords: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Centres of the ``height x width`` cells of each view, in original-image coordinates.

    A view box ``(x1, y1, x2, y2)`` (normalised, flipped views have ``x1 > x2``
    or ``y1 > y2``) maps view coordinate ``u`` in [0, 1] linearly to
    ``x1 + u * (x2 - x1)``; cell ``(i, j)`` has its centre at
    ``u = (j + 0.5) / width``, ``v = (i + 0.5) / height``.

    Args:
        coords: View boxes ``(N, 4)``.
        height: Rows of the feature map.
        width: Columns of the feature map.

    Returns:
        torch.Tensor: ``(N, height * width, 2)`` centres ``(x, y)``, row-major.
    """
    if coords.dim() != 2 or coords.shape[1] != 4:
        raise ValueError(f'view boxes must be (N, 4) x1y1x2y2, got {tuple(coords.shape)}')
    u = (torch.arange(width, dtype=coords.dtype, device=coords.device) + 0.5) / width
    v = (torch.arange(height, dtype=coords.dtype, device=coords.device) + 0.5) / height
    xs = coords[:, 0:1] + u[None] * (coords[:, 2:3] - coords[:, 0:1])  # (N, W)
    ys = coords[:, 1:2] + v[None] * (coords[:, 3:4] - coords[:, 1:2])  # (N, H)
    grid_x = xs[:, None, :].expand(-1, height, -1)
    grid_y = ys[:, :, None].expand(-1, -1, width)
    return torch.stack([grid_x, grid_y], dim=-1).reshape(coords.shape[0], height * width, 2)


def bin_diagonal(coords: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Diagonal of one feature cell in normalised original-image units, ``(N, )``."""
    bin_w = (coords[:, 2] - coords[:, 0]) / width
    bin_h = (coords[:, 3] - coords[:, 1]) / height
    return torch.sqrt(bin_w**2 + bin_h**2)


@torch.no_grad()
def cell_distance(coord_q: torch.Tensor,
                  coord_k: torch.Tensor,
                  size_q: tuple,
                  size_k: tuple | None = None) -> torch.Tensor:
    """Distances between query and key cell centres, in units of the larger bin diagonal.

    Centres are mapped into the original image through the view boxes
    (normalised x and y, as in the PixPro reference); each image's distances
    are divided by the larger of its two views' cell diagonals.

    Args:
        coord_q: Query view boxes ``(N, 4)``.
        coord_k: Key view boxes ``(N, 4)``.
        size_q: ``(H, W)`` of the query feature map.
        size_k: ``(H, W)`` of the key feature map (defaults to ``size_q``).

    Returns:
        torch.Tensor: ``(N, Hq*Wq, Hk*Wk)`` normalised distances.
    """
    size_k = size_q if size_k is None else size_k
    if coord_q.shape != coord_k.shape:
        raise ValueError(f'query and key boxes differ in shape: {tuple(coord_q.shape)} vs '
                         f'{tuple(coord_k.shape)}')
    centres_q = cell_centres(coord_q, *size_q)
    centres_k = cell_centres(coord_k, *size_k)
    # Explicit differences rather than torch.cdist: cdist's matrix-product path
    # loses precision for nearly coincident points, right where the threshold bites.
    dist = (centres_q[:, :, None, :] - centres_k[:, None, :, :]).pow(2).sum(-1).sqrt()
    max_diag = torch.maximum(bin_diagonal(coord_q, *size_q), bin_diagonal(coord_k, *size_k))
    return dist / max_diag[:, None, None]


@torch.no_grad()
def pixel_positive_mask(coord_q: torch.Tensor,
                        coord_k: torch.Tensor,
                        size_q: tuple,
                        size_k: tuple | None = None,
                        pos_ratio: float = 0.7) -> torch.Tensor:
    """PixPro's positive pairs: :func:`cell_distance` below ``pos_ratio`` (0.7).

    Args:
        coord_q: Query view boxes ``(N, 4)``.
        coord_k: Key view boxes ``(N, 4)``.
        size_q: ``(H, W)`` of the query feature map.
        size_k: ``(H, W)`` of the key feature map (defaults to ``size_q``).
        pos_ratio: Threshold ``T`` on the normalised distance.

    Returns:
        torch.Tensor: Float ``(N, Hq*Wq, Hk*Wk)`` mask, 1 for positive pairs.
    """
    return (cell_distance(coord_q, coord_k, size_q, size_k) < pos_ratio).to(coord_q.dtype)
