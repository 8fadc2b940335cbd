"""POSTing ISO 18626 messages to a peer by hand and judging each answer as the gateway's
delivery does (:mod:`isoill.transport.iso18626.link`): the core of ``isoill send URL``. Each
result gets a :class:`~isoill.tools.send.Status` as ``isoill send``'s exit status: an OK
Confirmation 0, an ERROR one 7, an answer without the Confirmation 6, no answer 5, no
connection 4."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from isoill.service.links import Refused, Rejected
from isoill.tools.send import Status
from isoill.transport.iso18626.link import Iso18626Client, NotConnected

__all__ = ["Posted", "post"]


@dataclass(frozen=True)
class Posted:
    """What came of one POST: its status, and one line saying why."""

    status: Status
    reason: str

    def shown(self) -> dict[str, object]:
        return {"status": int(self.status), "reason": self.reason}


async def post(url: str, bodies: Sequence[bytes], timeout: float) -> list[Posted]:
    """POST each of ``bodies`` to ``url`` in turn, each answer awaited ``timeout`` seconds."""
    client = Iso18626Client(lambda _: None, connect_timeout=timeout)
    link = client.link(url)
    results = []
    try:
        for body in bodies:
            try:
                await link.exchange(
                    body,
                    body,
                    expects_reply=True,
                    reply_timeout=timeout,
                    capture=False,
                    target=url,
                    apdu_type="",
                )
            except Rejected as error:
                results.append(Posted(Status.ERROR_REPORT, str(error)))
            except Refused as error:
                results.append(Posted(Status.WRONG_REPLY, str(error)))
            except NotConnected as error:
                results.append(Posted(Status.NOT_SENT, str(error)))
            except (OSError, TimeoutError) as error:
                results.append(Posted(Status.NO_REPLY, str(error) or type(error).__name__))
            else:
                results.append(Posted(Status.OK, "OK Confirmation"))
    finally:
        await client.close()
    return results
