"""The generated models written as an lxml tree, by the models' own xsdata metadata: the
elements, attributes and text of each class in the order xsdata reads them, each value in
xsdata's lexical form. The same tree xsdata's TreeSerializer renders (the tests hold the two
equal on every sample and on messages of any values), at a small part of its cost: it walks
the fields, where xsdata raises and handles an event for each start, attribute and end.

Only what the ISO 18626 schemas use is written: elements, attributes and simple text, no
wildcards, mixed content or nil values (a model that would need them is refused with
:class:`TypeError`, a fault of isoill's, not of a peer's).
"""

from __future__ import annotations

from dataclasses import is_dataclass
from typing import Any

from lxml import etree
from xsdata.formats.converter import converter
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.models.elements import XmlVar

__all__ = ["tree"]


def tree(model: object, context: XmlContext, nsmap: dict[str, str]) -> etree._ElementTree:
    """``model`` (a message's envelope) as a document, its namespaces named by ``nsmap``."""
    meta = context.build(type(model))
    root = etree.Element(meta.qname, nsmap=nsmap)
    _fill(root, model, context)
    return etree.ElementTree(root)


#: Each class's variables, in order (the same whichever context builds them: they are the
#: class's own metadata).
_VARS: dict[type, tuple[XmlVar, ...]] = {}


def _vars(clazz: type, context: XmlContext) -> tuple[XmlVar, ...]:
    found = _VARS.get(clazz)
    if found is None:
        meta = context.build(clazz)
        if meta.wildcards or meta.any_attributes or meta.mixed_content or meta.nillable:
            raise TypeError(f"{clazz.__name__}: content this writer does not write")
        found = _VARS[clazz] = tuple(meta.get_all_vars())
    return found


def _fill(node: etree._Element, model: object, context: XmlContext) -> None:
    for var in _vars(type(model), context):
        value: Any = getattr(model, var.name)
        if value is None:
            continue
        if var.is_text:
            _set_text(node, value, var)
        elif var.is_attribute:
            node.set(var.qname, _lexical(value, var))
        elif var.is_element:
            for item in value if var.list_element else (value,):
                if item is None:
                    continue
                child = etree.SubElement(node, var.qname)
                if is_dataclass(item):
                    _fill(child, item, context)
                else:
                    _set_text(child, item, var)
        else:
            raise TypeError(f"{type(model).__name__}.{var.name}: not an element, attribute or text")


def _set_text(node: etree._Element, value: object, var: XmlVar) -> None:
    text = _lexical(value, var)
    if text:  # as xsdata writes an empty value: <name/>
        node.text = text


def _lexical(value: object, var: XmlVar) -> str:
    text = converter.serialize(value, format=var.format)
    assert isinstance(text, str)
    return text
