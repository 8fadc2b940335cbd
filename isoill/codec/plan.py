"""The compiled plan of every type the codec handles: the 20 APDUs and the registered
extension syntaxes, each a tree of :class:`~isoill.codec.schema.Node`.

Compiled once at import from the pyasn1 types. :func:`bound` attaches the generated model
classes to the nodes; the decoder and encoder use only bound nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from isoill.asn1.ext import EXTENSION_SYNTAXES
from isoill.asn1.external import External
from isoill.asn1.ill9702 import Extension
from isoill.codec.schema import MODEL_KINDS, Compiler, Node, apdu_specs
from isoill.codec.values import ExternalModel

_compiler = Compiler()

#: APDU name in the standard ("ILL-Request") -> node, in the order of ILL-APDU.
APDUS: dict[str, Node] = {name: _compiler.compile(spec, name) for name, spec in apdu_specs()}

#: Dotted OID -> node of the syntax an EXTERNAL with that direct-reference holds.
EXTENSIONS: dict[str, Node] = {
    oid: _compiler.compile(syntax.spec(), syntax.name) for oid, syntax in EXTENSION_SYNTAXES.items()
}

#: EXTERNAL as met inside an ANY (an Extension's item).
EXTERNAL: Node = _compiler.compile(External(), "EXTERNAL")

#: Extension, the element of every APDU's ``...-extensions`` (the same node as theirs).
EXTENSION: Node = _compiler.compile(Extension(), "Extension")

#: Outermost tag key -> APDU node.
BY_TAG: dict[int, Node] = {node.wrappers[0]: node for node in APDUS.values()}

_bound: ModuleType | None = None


def bound() -> ModuleType:
    """Attach the generated model classes to every node (once) and return the models module."""
    global _bound  # noqa: PLW0603 - one-time binding of generated classes
    if _bound is None:
        from isoill.codec import models  # noqa: PLC0415 - models are generated from this plan

        for root in (*APDUS.values(), *EXTENSIONS.values(), EXTERNAL):
            for node in root.walk():
                if node.kind in MODEL_KINDS:
                    node.model = getattr(models, node.name)
        ExternalModel.syntaxes.update({oid: _validator(node) for oid, node in EXTENSIONS.items()})
        _bound = models
    return _bound


def _validator(node: Node) -> Callable[[object], object]:
    if node.element is not None:
        element = node.element.model

        def validate_all(value: object) -> object:
            if not isinstance(value, list):
                raise ValueError("expected a list")
            return tuple(element.model_validate(item) for item in value)

        return validate_all
    return node.model.model_validate  # type: ignore[no-any-return]
