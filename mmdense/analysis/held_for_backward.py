"""Bytes an autograd graph keeps alive for its backward pass (for memory benchmarks)."""
import torch


def held_for_backward(loss: torch.Tensor) -> int:
    """Bytes of the distinct tensor storages the graph of ``loss`` holds for backward.

    Walks the graph from ``loss.grad_fn`` and counts, each storage once, the tensors
    built-in nodes saved (``_saved_*`` attributes) and those custom
    ``torch.autograd.Function`` nodes keep, whether through ``save_for_backward`` or
    as ``ctx`` attributes (where :func:`~mmdense.models.losses.info_nce` keeps its
    gradients). ``torch.autograd.graph.saved_tensors_hooks`` would miss the latter.

    Args:
        loss: Output of a forward pass, before backward.

    Returns:
        int: Bytes (0 for a tensor without a graph).
    """
    storages, seen, stack = {}, set(), [loss.grad_fn]

    def add(value):
        if torch.is_tensor(value):
            storage = value.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
        elif isinstance(value, (tuple, list)):
            for item in value:
                add(item)

    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for name in dir(node):
            if name.startswith('_saved_'):
                add(getattr(node, name))
        if hasattr(node, 'needs_input_grad'):  # a custom Function's backward node (its ctx)
            add(list(node.saved_tensors))
            add(list(vars(node).values()))
        stack.extend(next_node for next_node, _ in node.next_functions)
    return sum(storages.values())
