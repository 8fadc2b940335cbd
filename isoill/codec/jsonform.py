"""The JSON form of an APDU: ``{"<APDU name>": {<fields by their standard names>}}``.

Field names, CHOICE alternatives and ENUMERATED values are the standard's names; absent
OPTIONAL fields are left out. Value forms are defined in :mod:`isoill.codec.values`.
The form is documented in docs/json-form.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from isoill.codec import plan
from isoill.codec.errors import DecodeError
from isoill.codec.models import IllApdu

plan.bound()


def to_json(apdu: IllApdu) -> dict[str, Any]:
    return {apdu.apdu_type: apdu.model_dump(mode="json", exclude_none=True)}


def from_json(document: object) -> IllApdu:
    """The APDU a JSON form describes; :class:`DecodeError` naming the field if it is wrong."""
    if not isinstance(document, dict) or len(document) != 1:
        raise DecodeError('expected one object of the form {"<APDU name>": {...}}')
    ((name, body),) = document.items()
    node = plan.APDUS.get(name)
    if node is None:
        raise DecodeError(f"{name!r} is not an ILL-APDU; expected one of {', '.join(plan.APDUS)}")
    try:
        return node.model.model_validate(body)  # type: ignore[no-any-return]
    except ValidationError as error:
        detail = error.errors()[0]
        path = ".".join(str(part) for part in (name, *detail["loc"]))
        raise DecodeError(detail["msg"], path=path) from None
