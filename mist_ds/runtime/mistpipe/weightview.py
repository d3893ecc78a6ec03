"""Saved-tensor descriptors of weights. A `WeightView` is what a managed unit's forward saves
instead of a tensor that views its gathered weights (a parameter, or e.g. the `weight.t()` a linear
saves): the view is rebuilt over the unit's buffer at unpack time, so saved tensors never pin a
released gather slot (DeepSpeed's ZeRO-3 gets the same effect by swapping F.linear for its own
autograd function, zero/linear.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class WeightView:
    """A saved view of a managed unit's gathered weights, by geometry instead of by storage."""

    size: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int


def storage_span(base: torch.Tensor | None) -> tuple[int, int] | None:
    """[first, last] byte address of `base`'s storage (None: no base): `weight_view`'s quick test."""
    if base is None:
        return None
    storage = base.untyped_storage()
    return storage.data_ptr(), storage.data_ptr() + storage.nbytes()


def weight_view(tensor: torch.Tensor, base: torch.Tensor, span: tuple[int, int] | None = None
                ) -> WeightView | None:
    """A WeightView of `tensor` when it lives in `base`'s storage, else None. With `span`
    (storage_span(base)), a tensor whose data pointer lies outside it is refused at once: storages
    alive at once never overlap, so it cannot be in base's storage (the full test, storage
    objects and a device comparison, cost ~2 us per saved tensor: bench/engine/host_hooks.py).
    An empty tensor's data pointer is 0: it takes the full test."""
    if span is not None:
        pointer = tensor.data_ptr()
        if pointer and not span[0] <= pointer <= span[1]:
            return None
    if base is None or tensor.device != base.device:
        return None
    if tensor.untyped_storage().data_ptr() != base.untyped_storage().data_ptr():
        return None
    return WeightView(tuple(tensor.shape), tuple(tensor.stride()),
                      tensor.storage_offset() - base.storage_offset())


def rebuild(view: WeightView, base: torch.Tensor) -> torch.Tensor:
    """The saved view, over the unit's current buffer."""
    return base.as_strided(view.size, view.stride, base.storage_offset() + view.offset)
