"""A pass that applies a set of onnxscript rewrite rules; the base of the rule-based passes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import onnx_ir as ir
from onnxscript.rewriter import pattern

__all__ = ["RulesPass", "make_rule", "opset_of"]

logger = logging.getLogger(__name__)


def opset_of(model: ir.Model) -> int:
    """The default-domain opset the model imports."""
    return model.opset_imports.get("", model.opset_imports.get("ai.onnx", 1))


def make_rule(cls: type[pattern.RewriteRuleClassBase], *args: object) -> pattern.RewriteRule:
    """A rule from a rule class and its constructor arguments."""
    rule: pattern.RewriteRule = cls.rule(*args)  # type: ignore[no-untyped-call]
    return rule


class RulesPass(ir.passes.InPlacePass):
    """Apply rewrite rules (pattern, check, rewrite) until none matches; skipped below min_opset.

    Subclasses set ``rules`` and, for fusions into newer operators, ``min_opset``.
    """

    min_opset = 1
    commute = False

    def rules(self) -> Sequence[pattern.RewriteRule] | pattern.RewriteRuleSet:
        """The rules this pass applies."""
        raise NotImplementedError

    def _ruleset(self) -> pattern.RewriteRuleSet:
        """The rule set, built once per pass object (with ``commute``, every operand order)."""
        cached: pattern.RewriteRuleSet | None = self.__dict__.get("_cached_ruleset")
        if cached is None:
            rules = self.rules()
            if isinstance(rules, pattern.RewriteRuleSet):
                cached = rules
            else:
                cached = pattern.RewriteRuleSet(list(rules), commute=self.commute)
            self.__dict__["_cached_ruleset"] = cached
        return cached

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Apply the rules to the main graph and every subgraph."""
        if opset_of(model) < self.min_opset:
            logger.debug("%s: needs opset %d", type(self).__name__, self.min_opset)
            return ir.passes.PassResult(model, modified=False)
        count = self._ruleset().apply_to_model(model)
        logger.debug("%s: %d rewrite(s)", type(self).__name__, count)
        return ir.passes.PassResult(model, modified=bool(count))
