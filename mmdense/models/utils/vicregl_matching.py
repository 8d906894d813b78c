"""VICRegL's local matching: feature-map cell centres in original-image pixels, and the
nearest-neighbour pairs between two views' maps (by location or by feature distance)."""
from typing import Optional, Sequence, Tuple

import torch

from .view_geometry import cell_centres

__all__ = ['vicregl_location_grid', 'nearest_neighbour_pairs', 'gather_matched_pairs']


@torch.no_grad()
def vicregl_location_grid(coords: torch.Tensor,
                          height: int,
                          width: int,
                          image_sizes: Optional[torch.Tensor] = None,
                          mirror_flip: bool = False) -> torch.Tensor:
    """Centres of a view's ``height x width`` map cells in original-image pixels.

    This is the authors' location grid (``_location_to_NxN_grid``): cell
    ``(k, l)`` of a crop at ``(top, left)`` of size ``(h, w)`` sits at
    ``(top + (k + 0.5) h / N, left + (l + 0.5) w / N)`` pixels. The view boxes
    that :class:`RandomResizedCropWithBox` / :class:`RandomFlipWithBox` record
    are normalised and mirrored (``x1 > x2``) for flipped views; the authors'
    default (``--no-flip-grid 1``) does not mirror the grid of a flipped view,
    so with ``mirror_flip=False`` the box is un-mirrored first and column ``l``
    of a flipped map is given the place of column ``l`` of the unflipped crop.

    Args:
        coords: View boxes ``(N, 4)``, ``(x1, y1, x2, y2)`` normalised to the image.
        height: Rows of the feature map.
        width: Columns of the feature map.
        image_sizes: ``(N, 2)`` original ``(height, width)`` in pixels, or None to
            measure in normalised units (the same matches for square images only).
        mirror_flip: Mirror the grid of flipped views (geometrically exact);
            False is the authors' default.

    Returns:
        torch.Tensor: ``(N, height * width, 2)`` centres ``(x, y)``, row-major.
    """
    if not mirror_flip:
        coords = torch.stack([
            torch.minimum(coords[:, 0], coords[:, 2]), torch.minimum(coords[:, 1], coords[:, 3]),
            torch.maximum(coords[:, 0], coords[:, 2]), torch.maximum(coords[:, 1], coords[:, 3])
        ], dim=1)
    centres = cell_centres(coords, height, width)
    if image_sizes is not None:
        # (height, width) -> per-axis scale of (x, y).
        centres = centres * image_sizes.flip(-1).to(centres)[:, None, :]
    return centres


@torch.no_grad()
def nearest_neighbour_pairs(distances: torch.Tensor,
                            num_matches: Optional[int] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Each input position's nearest candidate; keep the ``num_matches`` closest pairs.

    As in the authors' ``neirest_neighbores``: every input position is paired
    with its nearest candidate (first index on ties); of those pairs the
    ``num_matches`` with the smallest distance are kept, **in the input
    positions' spatial (row-major) order**, not in the order of distance.
    Ties in distance keep the lower index (a stable sort; the authors' unstable
    sort may break them either way). ``num_matches`` above the number of input
    positions keeps all of them (the authors' code would fail there).

    Args:
        distances: ``(N, S_in, S_cand)``.
        num_matches: Pairs to keep per image; None keeps all ``S_in``.

    Returns:
        tuple: ``(input_index, candidate_index)``, both ``(N, K)`` long, ``K`` the
        number of kept pairs.
    """
    num_in = distances.shape[1]
    keep = num_in if num_matches is None or num_matches < 0 else min(num_matches, num_in)
    nn_dist, nn_index = distances.min(dim=2)  # (N, S_in)
    order = torch.sort(nn_dist, dim=1, stable=True).indices[:, :keep]
    input_index = torch.sort(order, dim=1).values  # back to spatial order
    return input_index, torch.gather(nn_index, 1, input_index)


def gather_matched_pairs(input_maps: torch.Tensor, candidate_maps: torch.Tensor,
                         pairs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """The vectors of matched pairs.

    Args:
        input_maps: ``(N, S_in, C)``.
        candidate_maps: ``(N, S_cand, C)``.
        pairs: ``(input_index, candidate_index)`` from :func:`nearest_neighbour_pairs`.

    Returns:
        tuple: Two ``(N, K, C)`` tensors, aligned pair by pair.
    """
    input_index, candidate_index = pairs
    channels = input_maps.shape[-1]
    return (torch.gather(input_maps, 1, input_index[..., None].expand(-1, -1, channels)),
            torch.gather(candidate_maps, 1, candidate_index[..., None].expand(-1, -1, channels)))
