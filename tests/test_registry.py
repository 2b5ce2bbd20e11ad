"""The op registry: validated names, duplicates, opset dispatch, user handlers first."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch

from converter import ConvertOptions, OpRegistry, UnsupportedOpsError, convert, default_registry
from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext
from converter.translate.ops import linear, prim
from converter.translate.registry import HandlerSpec, handler
from tests.harness import onnx_op_types, save_archive
from tests.models import tiny_mlp


def _noop(ctx: TranslationContext, node: TSNode) -> Entry:
    return None


def test_names_are_validated() -> None:
    with pytest.raises(ValueError, match="invalid op name 'relu'"):
        OpRegistry().add(HandlerSpec("relu", _noop))


def test_duplicates_raise_unless_overriding() -> None:
    registry = OpRegistry()
    registry.add(HandlerSpec("aten::relu", _noop))
    with pytest.raises(ValueError, match="aten::relu already has a handler from opset 17"):
        registry.add(HandlerSpec("aten::relu", _noop))
    registry.add(HandlerSpec("aten::relu", _noop), override=True)


def test_lookup_prefers_overload_then_newest_usable_opset() -> None:
    def a(ctx: TranslationContext, node: TSNode) -> Entry:
        return None

    def b(ctx: TranslationContext, node: TSNode) -> Entry:
        return None

    def c(ctx: TranslationContext, node: TSNode) -> Entry:
        return None

    registry = OpRegistry()
    registry.add(HandlerSpec("aten::gelu", a, 17))
    registry.add(HandlerSpec("aten::gelu", b, 20))
    registry.add(HandlerSpec("aten::add.Scalar", c, 17))
    assert registry.lookup("aten::gelu", "", 19).fn is a  # type: ignore[union-attr]
    assert registry.lookup("aten::gelu", "", 23).fn is b  # type: ignore[union-attr]
    assert registry.lookup("aten::add", "Scalar", 18).fn is c  # type: ignore[union-attr]
    assert registry.lookup("aten::add", "Tensor", 18) is None
    assert registry.min_opset("aten::gelu", "") == 17


def test_add_module_leaves_out_imported_handlers() -> None:
    module = types.ModuleType("tests.fake_family")
    module.prim_constant = prim.prim_constant  # type: ignore[attr-defined]

    def own(ctx: TranslationContext, node: TSNode) -> Entry:
        return None

    own.__module__ = module.__name__
    module.own = handler("aten::fake_op")(own)  # type: ignore[attr-defined]
    registry = OpRegistry()
    registry.add_module(prim)
    registry.add_module(module)  # prim_constant again would be a duplicate
    assert registry.specs("prim::Constant") == [HandlerSpec("prim::Constant", prim.prim_constant)]
    assert registry.specs("aten::fake_op") == [HandlerSpec("aten::fake_op", own)]


def test_default_registry_is_fresh_each_time() -> None:
    first = default_registry()
    first.add(HandlerSpec("aten::relu", _noop), override=True)
    assert default_registry().lookup("aten::relu", "", 18).fn is not _noop  # type: ignore[union-attr]


# User handlers live at module level: convert hands them to its worker process by reference.
def relu_as_clip(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::relu(Tensor self) -> Tensor, as Clip(x, 0)."""
    x = ctx.tensor(node.inputs[0])
    return ctx.op("Clip", x, ctx.constant(0.0, ctx.dtype(x)))


def relu_21(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::relu(Tensor self) -> Tensor, registered as if it needed opset 21."""
    return ctx.op("Relu", ctx.tensor(node.inputs[0]))


def test_user_handler_replaces_builtin(tmp_path: Path) -> None:
    registry = default_registry()
    registry.register("aten::relu", override=True)(relu_as_clip)
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    convert(archive, tmp_path / "m.onnx", [torch.randn(2, 4)], registry=registry)
    assert "Clip" in onnx_op_types(tmp_path / "m.onnx")
    assert "Relu" not in onnx_op_types(tmp_path / "m.onnx")


def test_opset_hint_names_the_opset_that_works(tmp_path: Path) -> None:
    registry = OpRegistry()
    for module in (prim, linear):
        registry.add_module(module)

    registry.register("aten::relu", since_opset=21)(relu_21)
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    with pytest.raises(UnsupportedOpsError, match="Hint: aten::relu needs --opset 21"):
        convert(archive, tmp_path / "m.onnx", [torch.randn(2, 4)], registry=registry)
    options = ConvertOptions(opset=21)
    convert(archive, tmp_path / "m.onnx", [torch.randn(2, 4)], registry=registry, options=options)
