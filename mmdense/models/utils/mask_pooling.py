"""DetCon's mask handling on the feature grid: majority downsampling, sampling, pooling."""
from typing import Optional, Tuple

import torch

__all__ = ['downsample_masks', 'sample_mask_ids', 'mask_pool']

# Largest id count that downsample_masks counts without relabelling (memory B * cells * ids).
_DIRECT_IDS = 1024


def downsample_masks(masks: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
    """Give each feature cell the mask id that covers most of its pixels.

    The authors' rule: one-hot over ids, average-pool each id's indicator over the
    cell's pixels, argmax over ids (ties go to the smaller id, as ``jnp.argmax``
    and ``torch.argmax`` both take the first maximum). Cells are the
    ``H / h`` x ``W / w`` blocks of the view (32 x 32 pixels at 224 px for res5).
    It counts each id's pixels per cell (the pool up to a constant) with one
    ``bincount``; ids above 1023 are first relabelled per batch, so memory grows with
    the cells times the ids, never with the image size.

    Args:
        masks: Integer mask ids of the views ``(B, H, W)``, non-negative.
        grid: Feature grid ``(h, w)``; ``H`` and ``W`` must be multiples of it.

    Returns:
        torch.Tensor: int64 ``(B, h * w)``, the id of each cell in row-major order.
    """
    if masks.dim() != 3:
        raise ValueError(f'masks must be (B, H, W), got {tuple(masks.shape)}')
    batch, height, width = masks.shape
    grid_h, grid_w = grid
    if height % grid_h or width % grid_w:
        raise ValueError(f'mask size {height}x{width} is not a multiple of the feature grid '
                         f'{grid_h}x{grid_w}; use crop sizes divisible by the backbone stride.')
    masks = masks.long()
    top = int(masks.max()) + 1
    if top <= _DIRECT_IDS:  # Felzenszwalb ids are small: count them directly
        values, compact = torch.arange(top, device=masks.device), masks
    else:  # relabel (a sort of every pixel: slower, bounded memory)
        values, compact = torch.unique(masks, return_inverse=True)
    num_ids = len(values)
    # Counting each id's pixels per cell is the average pool of its one-hot map up to the
    # cell area, without materialising (B, K, H, W) (1.4 s for 60 ids at 8 x 224^2).
    rows = torch.arange(height, device=masks.device) // (height // grid_h)
    cols = torch.arange(width, device=masks.device) // (width // grid_w)
    cell = rows[:, None] * grid_w + cols[None, :]  # (H, W)
    image = torch.arange(batch, device=masks.device)[:, None, None] * (grid_h * grid_w)
    key = (image + cell[None]) * num_ids + compact
    counts = torch.bincount(key.flatten(), minlength=batch * grid_h * grid_w * num_ids)
    counts = counts.reshape(batch, grid_h * grid_w, num_ids)
    return values[counts.argmax(dim=-1)]


def sample_mask_ids(cell_ids: torch.Tensor, num_samples: int = 16,
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Draw ``num_samples`` mask ids per view, uniformly with replacement among those present.

    "Present" means the id owns at least one cell after :func:`downsample_masks`
    (the authors sample over ids whose downsampled binary mask is non-empty).

    Args:
        cell_ids: Cell ids ``(B, h * w)`` from :func:`downsample_masks`.
        num_samples: Masks per view (16 in DetCon-B).
        generator: Random generator; torch's global one when None.

    Returns:
        torch.Tensor: int64 ``(B, num_samples)`` mask ids.
    """
    values, compact = torch.unique(cell_ids, return_inverse=True)
    present = torch.zeros(cell_ids.shape[0], len(values), device=cell_ids.device)
    present.scatter_(1, compact, 1.0)
    picks = torch.multinomial(present, num_samples, replacement=True, generator=generator)
    return values[picks]


def mask_pool(feats: torch.Tensor, cell_ids: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Average the feature vectors of the cells of each sampled mask.

    ``(binary mask / area) @ map``: the binary mask of id ``k`` marks the cells whose
    id is ``k``; an id without cells (impossible for sampled ids) would pool to zero.

    Args:
        feats: Feature map ``(B, C, h, w)``.
        cell_ids: Cell ids ``(B, h * w)`` from :func:`downsample_masks`.
        ids: Sampled ids ``(B, M)``.

    Returns:
        torch.Tensor: Pooled features ``(B, M, C)``.
    """
    if feats.shape[-2] * feats.shape[-1] != cell_ids.shape[1]:
        raise ValueError(f'feature map {tuple(feats.shape)} does not match {cell_ids.shape[1]} '
                         'cell ids')
    binary = (ids[:, :, None] == cell_ids[:, None, :]).to(feats.dtype)  # (B, M, h*w)
    binary = binary / binary.sum(dim=-1, keepdim=True).clamp(min=1)
    return binary @ feats.flatten(2).transpose(1, 2)
