"""How a decoded model is built without validating its values again (see
:meth:`isoill.codec.values.AsnModel.maker`): a module of its own so that mypyc compiles it,
as it cannot compile the pydantic models themselves; the decoder calls a maker for each
SEQUENCE and CHOICE it decodes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# BaseModel's slots, set through their descriptors: a frozen model's own __setattr__ refuses,
# and object.__setattr__ would look each of them up in the class's MRO again, every time.
_set_dict = vars(BaseModel)["__dict__"].__set__
_set_fields = vars(BaseModel)["__pydantic_fields_set__"].__set__
_set_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_set_private = vars(BaseModel)["__pydantic_private__"].__set__


class Maker:
    """Builds a model of ``model`` from values of its fields' types: ``defaults`` are its
    fields in order with their defaults, ``private`` its private attributes' (``None``:
    it has none)."""

    def __init__(
        self, model: type[BaseModel], defaults: dict[str, object], private: dict[str, object] | None
    ) -> None:
        self.new = model.__new__
        self.model = model
        self.defaults = defaults
        self.private = private

    def __call__(self, values: dict[str, Any]) -> Any:
        model = self.new(self.model)
        _set_dict(model, {**self.defaults, **values})
        _set_fields(model, set(values))
        _set_extra(model, None)
        private = self.private
        _set_private(model, None if private is None else private.copy())
        return model
