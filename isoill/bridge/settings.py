"""What the mapping needs to know of one ISO 18626 peer: a frozen value the routes carry.

- ``version``: the schema the peer speaks (v1.2 unless it says 2021), and ``declared``, the
  ``version`` attribute to write if the peer wants another value than the schema's own.
- ``timezone``: the IANA zone of the ISO 10161 side of its transactions: ISO 10161's
  zone-less dates and times are read and written in it, and so is an ``xs:dateTime`` the
  peer sends without a zone.
- ``agencies``: agency ids that are not spelt as the symbol rule makes them
  (:mod:`isoill.bridge.agency`), both ways.
- ``conditional``: how a conditional answer and its reply travel (:class:`Conditional`).
- ``expect_to_supply``: whether the peer takes the status ExpectToSupply (Alma does not:
  WillSupply is sent instead).
- ``authentication``: the ``requestingAgencyAuthentication`` written in the headers of the
  Requests and requesting agency messages sent to the peer (Koha demands one). The
  configuration reads it from the credentials file, never from the routes.
- ``headers``: extra HTTP headers every POST to the peer carries (ReShare behind FOLIO's
  Okapi wants ``X-Okapi-Tenant``), each name once; not the mapping's, but the peer's settings
  travel as one value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from isoill.bridge.agency import AgencyMap
from isoill.bridge.messages import Authentication
from isoill.bridge.times import zone
from isoill.iso18626.messages import Version

__all__ = ["Conditional", "PeerSettings18626"]


class Conditional(StrEnum):
    """How conditions travel to and from the peer.

    ``RETRY`` (ISO 18626:2021 Annex H, the default): a conditional answer is a RetryPossible
    naming the condition, which ends the ISO 18626 request; agreeing is a new Request with
    requestType Retry. ``RESHARE`` (ReShare's note specials): the supplier sends the condition
    in a note beginning ``#ReShareAddLoanCondition#`` with the status WillSupply, and the
    requester agrees in a Notification beginning ``#ReShareLoanConditionAgreeResponse#``;
    the ISO 18626 request stays open, as an ISO 10161 CONDITIONAL does.
    """

    RETRY = "2021"
    RESHARE = "reshare"


@dataclass(frozen=True, slots=True)
class PeerSettings18626:
    version: Version = Version.V1_2
    timezone: str = "UTC"
    agencies: AgencyMap = field(default_factory=AgencyMap)
    conditional: Conditional = Conditional.RETRY
    expect_to_supply: bool = True
    authentication: Authentication | None = None
    declared: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        zone(self.timezone)  # ValueError for a name the system does not know

    @property
    def where(self) -> ZoneInfo:
        """The zone of the ISO 10161 side."""
        return zone(self.timezone)
