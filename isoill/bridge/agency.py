"""Library symbols (ISO 10161) and agency ids (ISO 18626), both ways.

An ISO 18626 AgencyId is a pair: an ``agencyIdType`` (ISIL, OCLC, a consortium's own type...)
and an ``agencyIdValue``. ISO 10161 names a library by one symbol. The rule, as the open
ISO 18626 brokers write combined symbols: ``TYPE:VALUE``, split at the first colon; a symbol
without a colon (or with nothing on one side of it) is an ISIL. Back, an ISIL whose value has
no colon is its value alone, any other agency ``TYPE:VALUE``; so ``ISIL:DK-710100`` and
``DK-710100`` are one library, written ``DK-710100``.

Symbols are kept as :func:`~isoill.ill.symbols.symbol_key` keeps them (upper case), so an
agency id made from a symbol is upper case too. A peer that spells its agency ids otherwise
gets an :class:`AgencyMap` entry, which wins both ways; and the bridge state keeps the agency
ids a transaction's 18626 messages carried, as sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from isoill.ill.symbols import symbol_key

__all__ = ["ISIL", "AgencyId", "AgencyMap", "agency_of", "symbol_for"]

#: The agency id type of a symbol without one.
ISIL = "ISIL"


@dataclass(frozen=True, slots=True)
class AgencyId:
    """An ISO 18626 agency id: ``agencyIdType`` and ``agencyIdValue`` as written."""

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True, slots=True)
class AgencyMap:
    """Per-peer overrides: symbol -> the agency id to write for it, and the symbol to read an
    agency id as. ``pairs`` hold each symbol once (as :func:`symbol_key` keeps it)."""

    pairs: tuple[tuple[str, AgencyId], ...] = ()

    def __post_init__(self) -> None:
        symbols = [symbol_key(symbol) for symbol, _ in self.pairs]
        if len(set(symbols)) != len(symbols):
            raise ValueError("an agency map names a symbol twice")
        agencies = [_agency_key(agency) for _, agency in self.pairs]
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency map names an agency id twice")

    @classmethod
    def of(cls, mapping: dict[str, AgencyId]) -> AgencyMap:
        return cls(tuple(mapping.items()))

    def agency(self, symbol: str) -> AgencyId | None:
        key = symbol_key(symbol)
        return next((agency for name, agency in self.pairs if symbol_key(name) == key), None)

    def symbol(self, agency: AgencyId) -> str | None:
        key = _agency_key(agency)
        found = (name for name, known in self.pairs if _agency_key(known) == key)
        name = next(found, None)
        return symbol_key(name) if name is not None else None


def agency_of(symbol: str, overrides: AgencyMap | None = None) -> AgencyId:
    """The agency id of the library ``symbol`` names."""
    if overrides is not None:
        found = overrides.agency(symbol)
        if found is not None:
            return found
    key = symbol_key(symbol)
    kind, colon, value = key.partition(":")
    if colon and kind and value:
        return AgencyId(kind, value)
    return AgencyId(ISIL, key)


def symbol_for(agency: AgencyId, overrides: AgencyMap | None = None) -> str:
    """The symbol of the library ``agency`` names, as :func:`symbol_key` keeps it."""
    if overrides is not None:
        found = overrides.symbol(agency)
        if found is not None:
            return found
    kind = symbol_key(agency.type)
    plain = kind == ISIL and ":" not in agency.value
    symbol = agency.value if plain else f"{kind}:{agency.value}"
    # as the rule reads the symbol back, which a degenerate id (a blank value) may change
    read = agency_of(symbol)
    return read.value if read.type == ISIL and ":" not in read.value else str(read)


def _agency_key(agency: AgencyId) -> tuple[str, str]:
    """Two agency ids are one when their type and value agree but for case and outer spaces."""
    return symbol_key(agency.type), symbol_key(agency.value)
