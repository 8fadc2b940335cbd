"""isoill's writer of the generated models (:mod:`isoill.iso18626.writer`) writes the document
xsdata's own TreeSerializer writes, byte for byte: for every sample and 2021 message, in each
schema a message may be read with, and for messages of any values (one element's text edited
to any text the schema and the models still take)."""

from __future__ import annotations

import pytest
from hypothesis import given
from lxml import etree
from test_iso18626_hostile import MESSAGES, QUICK, edited_values
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.formats.dataclass.serializers.tree import TreeSerializer

from isoill.iso18626 import wire, writer
from isoill.iso18626.errors import Refusal
from isoill.iso18626.messages import NAMESPACE
from isoill.iso18626.wire import PREFIX

CONTEXT = XmlContext()
NSMAP = {PREFIX: NAMESPACE}


def xsdatas(model: wire.Message) -> bytes:
    rendered = TreeSerializer(config=SerializerConfig(), context=CONTEXT).render(model, NSMAP)
    return etree.tostring(rendered, encoding="UTF-8", xml_declaration=True)


def ours(model: wire.Message) -> bytes:
    return etree.tostring(
        writer.tree(model, CONTEXT, NSMAP), encoding="UTF-8", xml_declaration=True
    )


@pytest.mark.parametrize("body", MESSAGES, ids=range(len(MESSAGES)))
def test_every_message_is_written_as_xsdata_writes_it(body: bytes) -> None:
    model = wire.parse(body).model
    assert ours(model) == xsdatas(model)
    assert wire.parse(wire.serialise(model)).model == model


@QUICK
@given(edited_values())
def test_messages_of_any_values_are_written_as_xsdata_writes_them(body: bytes) -> None:
    try:
        model = wire.parse(body).model
    except Refusal:
        return
    assert ours(model) == xsdatas(model)
