"""Convolution fusions: BatchNorm into Conv, bias Add into Conv, Pad into Conv/pools."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx_ir as ir
from onnxscript.rewriter import pattern
from onnxscript.rewriter.rules import common as rules

from converter.optimize._match import const_array
from converter.optimize._rules import RulesPass, make_rule

__all__ = [
    "FuseConvBatchNormPass",
    "FuseConvBiasPass",
    "FusePadIntoConvPass",
    "FusePadIntoPoolPass",
]


class FuseConvBatchNormPass(RulesPass):
    """``BN(Conv(x, W, b)) = Conv(x, W * s, (b - mean) * s + beta)``, ``s = gamma/sqrt(var+eps)``.

    Also after ConvTranspose (``s`` applies to the output-channel axis 1 of its weight) and
    Gemm. Preconditions: the weight, bias and BatchNorm parameters are initializers used by
    no other node (a shared weight is never copied).
    """

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """onnxscript's BatchNorm folding rules."""
        return [
            rules.fuse_batchnorm_into_conv_rule,
            rules.fuse_batchnorm_into_conv_transpose_rule,
            rules.fuse_batchnorm_into_gemm_rule,
        ]


class FusePadIntoConvPass(RulesPass):
    """``Conv(Pad(x, p, 0)) = Conv(x, pads=pads+p)`` for constant zero padding of spatial axes."""

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """onnxscript's Pad-into-Conv rules (auto_pad normalized to explicit pads first)."""
        return [
            rules.normalize_pad_format_conv_rule,
            rules.fuse_pad_into_conv_rule,
        ]


def _out_channels(node: ir.Node, w: np.ndarray) -> int:
    if node.op_type == "ConvTranspose":
        group = node.attributes.get_int("group", 1)
        return int(w.shape[1]) * group
    return int(w.shape[0])


class _ConvBiasAdd(pattern.RewriteRuleClassBase):
    """``Conv(x, W, b) + c = Conv(x, W, b + c)`` when c is a per-channel (or scalar) constant."""

    def __init__(self, op_type: str) -> None:
        super().__init__(f"{op_type}BiasAdd")
        self._op_type = op_type
        self._bias: np.ndarray | None = None

    def pattern(self, op, x, w, c):  # type: ignore[no-untyped-def]
        conv = getattr(op, self._op_type)(x, w, _allow_other_inputs=True, _outputs=["conv"])
        return op.Add(conv, c)

    def check(self, context, x, w, c, conv, **_):  # type: ignore[no-untyped-def,override]
        result = pattern.MatchResult()
        node = conv.producer()
        weight, add = const_array(w), const_array(c)
        if weight is None or add is None:
            return result.fail("weight or added value is not a constant")
        if len(conv.uses()) != 1 or conv.is_graph_output():
            return result.fail("the convolution output has other uses")
        channels = _out_channels(node, weight)
        shape = (1,) * (weight.ndim - add.ndim) + tuple(add.shape)
        if len(shape) != weight.ndim or shape[0] != 1 or any(d != 1 for d in shape[2:]):
            return result.fail(f"added shape {add.shape} is not per-channel")
        if shape[1] not in (1, channels):
            return result.fail(f"added shape {add.shape} does not match {channels} channels")
        old = const_array(node.inputs[2]) if len(node.inputs) > 2 else None
        if len(node.inputs) > 2 and node.inputs[2] is not None:
            if old is None or len(node.inputs[2].uses()) != 1:
                return result.fail("the existing bias is not a constant of this node alone")
        base = np.zeros(channels, weight.dtype) if old is None else old
        self._bias = (base + add.reshape(-1)).astype(weight.dtype)
        return result

    def rewrite(self, op, x, w, c, conv, **_):  # type: ignore[no-untyped-def]
        node = conv.producer()
        assert self._bias is not None
        old = node.inputs[2] if len(node.inputs) > 2 else None
        name = old.name if old is not None and old.name else f"{conv.name}_bias"
        bias = op.initializer(ir.tensor(self._bias), name=name)
        return op.op(self._op_type, x, w, bias, **node.attributes)


class FuseConvBiasPass(RulesPass):
    """``Conv(x, W, b) + c = Conv(x, W, b + c)`` (and ConvTranspose) for a per-channel constant c.

    Precondition: the convolution's output feeds only the Add.
    """

    commute = True

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """One rule per convolution kind."""
        return [make_rule(_ConvBiasAdd, "Conv"), make_rule(_ConvBiasAdd, "ConvTranspose")]


def _spatial_pads(pads: np.ndarray, rank: int) -> list[int] | None:
    """Pool-style pads (begins then ends of the spatial axes) from Pad's, or None if the
    batch or channel axes are padded or any pad is negative."""
    if pads.size != 2 * rank or (pads < 0).any():
        return None
    begins, ends = pads[:rank], pads[rank:]
    if begins[:2].any() or ends[:2].any():
        return None
    return [int(p) for p in (*begins[2:], *ends[2:])]


def _fold_pad_into_pool(node: ir.Node) -> bool:
    """Rewrite ``Pool(Pad(x))`` in place when the padding value is the pool's own."""
    src = node.inputs[0]
    pad = None if src is None else src.producer()
    if pad is None or pad.op_type != "Pad" or len(src.uses()) != 1 or src.is_graph_output():  # type: ignore[union-attr]
        return False
    x = pad.inputs[0]
    pads = const_array(pad.inputs[1]) if len(pad.inputs) > 1 else None
    if x is None or x.shape is None or pads is None or len(pad.inputs) > 3:
        return False
    if pad.attributes.get_string("mode", "constant") != "constant":
        return False
    value = const_array(pad.inputs[2]) if len(pad.inputs) > 2 and pad.inputs[2] else np.zeros(1)
    if value is None or value.size != 1:
        return False
    if node.op_type == "MaxPool":
        ok = float(value.reshape(())) == float("-inf") and len(node.outputs) == 1
    else:
        ok = (
            float(value.reshape(())) == 0.0 and node.attributes.get_int("count_include_pad", 0) == 1
        )
    new = _spatial_pads(pads.astype(np.int64), x.shape.rank())
    if not ok or new is None or node.attributes.get_string("auto_pad", "NOTSET") != "NOTSET":
        return False
    old = node.attributes.get_ints("pads") or (0,) * len(new)
    node.attributes["pads"] = ir.AttrInt64s("pads", [a + b for a, b in zip(old, new, strict=True)])
    node.replace_input_with(0, x)
    return True


class FusePadIntoPoolPass(ir.passes.InPlacePass):
    """``MaxPool(Pad(x, p, -inf)) = MaxPool(x, pads+p)`` and ``AveragePool(Pad(x, p, 0)) =
    AveragePool(x, pads+p)`` when the pool counts padding (``count_include_pad=1``).

    Only spatial axes may be padded, by non-negative constant amounts.
    """

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Fold every such Pad of the main graph and subgraphs."""
        modified = False
        for node in list(ir.traversal.RecursiveGraphIterator(model.graph)):
            if node.op_type in ("MaxPool", "AveragePool") and node.domain in ("", "ai.onnx"):
                modified = _fold_pad_into_pool(node) or modified
        return ir.passes.PassResult(model, modified=modified)
