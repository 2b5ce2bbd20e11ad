"""Built-in handlers, one module per op family; ``FAMILIES`` lists them in lookup order."""

from __future__ import annotations

from converter.translate.ops import (
    activation,
    attention,
    control_flow,
    conv,
    creation,
    elementwise,
    indexing,
    legacy,
    linear,
    lists,
    masking,
    math,
    norm,
    pool,
    prim,
    quantized,
    quantized_activation,
    quantized_dynamic,
    quantized_embedding,
    quantized_norm,
    quantized_rnn,
    ranges,
    rearrange,
    reduction,
    rnn,
    scatter,
    shape,
    slicing,
    sorting,
    structure,
    tensor,
)
from converter.translate.registry import OpRegistry

__all__ = ["FAMILIES", "default_registry"]

FAMILIES = (
    prim,
    structure,
    elementwise,
    activation,
    linear,
    conv,
    norm,
    pool,
    control_flow,
    lists,
    shape,
    slicing,
    tensor,
    reduction,
    rnn,
    attention,
    indexing,
    scatter,
    masking,
    sorting,
    math,
    creation,
    ranges,
    rearrange,
    quantized,
    quantized_activation,
    quantized_dynamic,
    quantized_embedding,
    quantized_norm,
    quantized_rnn,
    legacy,
)


def default_registry() -> OpRegistry:
    """A fresh registry holding every built-in handler."""
    registry = OpRegistry()
    for module in FAMILIES:
        registry.add_module(module)
    return registry
