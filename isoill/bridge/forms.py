"""A parsed ISO 18626 model as the bridge's message value, and a message value as the model of
a version: the one place that knows which module writes which schema."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from isoill.bridge import as_v1_2, as_v2021
from isoill.bridge.messages import Message
from isoill.iso18626 import v1_2
from isoill.iso18626.messages import Version
from isoill.iso18626.wire import Message as Model

__all__ = ["read", "write"]


def read(model: Model, where: ZoneInfo) -> Message:
    """The message ``model`` holds (either version); zone-less date-times read in ``where``.
    :class:`isoill.bridge.times.OutOfRange` for a date-time beyond what the bridge holds."""
    if isinstance(model, v1_2.Iso18626Message):
        return as_v1_2.read_message(model, where)
    return as_v2021.read_message(model, where)


def write(message: Message, version: Version, declared: str | None = None) -> Model:
    """``message`` as a model of ``version``, its ``version`` attribute ``declared`` (by
    default the version's own value)."""
    if version is Version.V1_2:
        return as_v1_2.write_message(message, declared or version.value)
    return as_v2021.write_message(message, declared or version.value)
