"""Normalization fusions: LayerNormalization (opset 17) and RMSNormalization (opset 23)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx_ir as ir
from onnxscript.rewriter import pattern

from converter.optimize._match import const_array, is_scalar, last_dim, scalar
from converter.optimize._rules import RulesPass, make_rule

__all__ = ["FuseLayerNormPass", "FuseRMSNormPass"]

# Not DOUBLE: the fused operators keep their statistics in float32 (stash_type) by default.
_FLOATS = frozenset({ir.DataType.FLOAT, ir.DataType.FLOAT16})


def _mean(op, x, axes, attr_axes: bool):  # type: ignore[no-untyped-def]
    """ReduceMean over the axes: an input from opset 18, an attribute before."""
    return op.ReduceMean(x) if attr_axes else op.ReduceMean(x, axes)


def _last_axis_only(value: ir.Value, axes: ir.Value | None) -> bool:
    """The ReduceMean that produced ``value`` reduces only the last axis, keeping dims."""
    node = value.producer()
    if node is None or node.attributes.get_int("keepdims", 1) != 1:
        return False
    array = const_array(axes) if axes is not None else None
    if array is None:
        attr = node.attributes.get("axes")
        array = None if attr is None else np.asarray(attr.as_ints())
    source = node.inputs[0]
    rank = None if source is None or source.shape is None else source.shape.rank()
    if array is None or array.size != 1 or rank is None:
        return False
    return int(array.reshape(-1)[0]) in (-1, rank - 1)


def _vector_value(op, value: ir.Value, x: ir.Value, suffix: str) -> ir.Value:  # type: ignore[no-untyped-def]
    """The value itself when it is 1-D already, else a 1-D initializer with its contents."""
    array = const_array(value)
    if array is not None and array.ndim == 1:
        return value
    vector = _vector_for(value, x)
    assert vector is not None
    made: ir.Value = op.initializer(ir.tensor(vector), name=f"{value.name}_{suffix}")
    return made


def _vector_for(value: ir.Value, x: ir.Value) -> np.ndarray | None:
    """A constant of shape [..1.., D] with D = x's last dim, as a 1-D array."""
    array = const_array(value)
    size = last_dim(x)
    if array is None or size is None or array.size != size or array.shape[-1:] != (size,):
        return None
    return array.reshape(-1)


class _LayerNorm(pattern.RewriteRuleClassBase):
    """``scale * (x - m) / sqrt(mean((x - m)^2) + eps) = LayerNormalization(x, scale)``,
    ``m = mean(x)``."""

    def __init__(self, square: str, attr_axes: bool) -> None:
        super().__init__(f"LayerNorm{square.title()}{'Attr' if attr_axes else ''}")
        self._square, self._attr = square, attr_axes

    def pattern(self, op, x, axes1, axes2, two, eps, scale):  # type: ignore[no-untyped-def]
        mean = _mean(op, x, axes1, self._attr)
        d = op.Sub(x, mean)
        sq = op.Mul(d, d) if self._square == "mul" else op.Pow(d, two)
        var = (
            op.ReduceMean(sq, _outputs=["var"])
            if self._attr
            else op.ReduceMean(sq, axes2, _outputs=["var"])
        )
        std = op.Sqrt(op.Add(var, eps))
        normalized = op.Div(d, std)
        return op.Mul(normalized, scale)

    def check(self, context, x, eps, scale, var, **kw):  # type: ignore[no-untyped-def,override]
        result = pattern.MatchResult()
        if x.dtype not in _FLOATS:
            return result.fail("input is not floating point")
        if self._square == "pow" and not is_scalar(kw.get("two"), 2.0):
            return result.fail("Pow exponent is not 2")
        mean = var.producer().inputs[0].producer().inputs[0].producer().inputs[1]  # Sub(x, mean)
        if not (_last_axis_only(mean, kw.get("axes1")) and _last_axis_only(var, kw.get("axes2"))):
            return result.fail("the means do not reduce only the last axis")
        if scalar(eps) is None or _vector_for(scale, x) is None:
            return result.fail("epsilon or scale is not a constant of the right shape")
        return result

    def rewrite(self, op, x, eps, scale, **_):  # type: ignore[no-untyped-def]
        weight = _vector_value(op, scale, x, "ln")
        return op.LayerNormalization(x, weight, axis=-1, epsilon=scalar(eps))


class _LayerNormBias(pattern.RewriteRuleClassBase):
    """``LayerNormalization(x, scale) + bias = LayerNormalization(x, scale, bias)``."""

    def pattern(self, op, x, scale, bias):  # type: ignore[no-untyped-def]
        return op.Add(op.LayerNormalization(x, scale, _outputs=["ln"]), bias)

    def check(self, context, x, bias, ln, **_):  # type: ignore[no-untyped-def,override]
        result = pattern.MatchResult()
        if len(ln.producer().outputs) != 1 or len(ln.uses()) != 1:
            return result.fail("the LayerNormalization output has other uses")
        if _vector_for(bias, x) is None:
            return result.fail("bias is not a constant of the normalized size")
        return result

    def rewrite(self, op, x, scale, bias, ln, **_):  # type: ignore[no-untyped-def]
        b = _vector_value(op, bias, x, "ln")
        return op.LayerNormalization(x, scale, b, **ln.producer().attributes)


class FuseLayerNormPass(RulesPass):
    """``scale * (x - mean(x)) / sqrt(var(x) + eps) + bias = LayerNormalization(x, scale, bias)``.

    ``var`` written as ``mean(d*d)`` or ``mean(d^2)``; ``scale * n`` and ``n * scale`` both
    match. Preconditions: opset >= 17, means over the last axis only, constant eps, scale and
    bias of the last dim's size.
    """

    min_opset = 17
    commute = True

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """Four spellings of the normalization, then the bias."""
        return [
            *(make_rule(_LayerNorm, sq, attr) for sq in ("mul", "pow") for attr in (False, True)),
            make_rule(_LayerNormBias),
        ]


class _RMSNorm(pattern.RewriteRuleClassBase):
    """``scale * x / sqrt(mean(x^2) + eps) = RMSNormalization(x, scale)``."""

    def __init__(self, square: str, inverse: str, attr_axes: bool) -> None:
        super().__init__(f"RMSNorm{square.title()}{inverse.title()}{'Attr' if attr_axes else ''}")
        self._square, self._inverse, self._attr = square, inverse, attr_axes

    def pattern(self, op, x, axes1, two, eps, scale):  # type: ignore[no-untyped-def]
        sq = op.Mul(x, x) if self._square == "mul" else op.Pow(x, two)
        ms = (
            op.ReduceMean(sq, _outputs=["ms"])
            if self._attr
            else op.ReduceMean(sq, axes1, _outputs=["ms"])
        )
        rms = op.Sqrt(op.Add(ms, eps))
        normalized = op.Div(x, rms) if self._inverse == "div" else op.Mul(x, op.Reciprocal(rms))
        return op.Mul(normalized, scale)

    def check(self, context, x, eps, scale, ms, **kw):  # type: ignore[no-untyped-def,override]
        result = pattern.MatchResult()
        if x.dtype not in _FLOATS:
            return result.fail("input is not floating point")
        if self._square == "pow" and not is_scalar(kw.get("two"), 2.0):
            return result.fail("Pow exponent is not 2")
        if not _last_axis_only(ms, kw.get("axes1")):
            return result.fail("the mean does not reduce only the last axis")
        if scalar(eps) is None or _vector_for(scale, x) is None:
            return result.fail("epsilon or scale is not a constant of the right shape")
        return result

    def rewrite(self, op, x, eps, scale, **_):  # type: ignore[no-untyped-def]
        weight = _vector_value(op, scale, x, "rms")
        return op.RMSNormalization(x, weight, axis=-1, epsilon=scalar(eps))


class FuseRMSNormPass(RulesPass):
    """``scale * x / sqrt(mean(x^2) + eps) = RMSNormalization(x, scale)`` (opset 23).

    ``1/sqrt`` written as ``Div`` or ``Reciprocal``; either operand order of the products.
    """

    min_opset = 23
    commute = True

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """Eight spellings of the normalization."""
        return [
            make_rule(_RMSNorm, sq, inv, attr)
            for sq in ("mul", "pow")
            for inv in ("div", "reciprocal")
            for attr in (False, True)
        ]
