"""What bench/fuzz.py does with each input: everything the gateway does with bytes from a peer.

:func:`exercise` runs one input through the framer (whole, and again in random pieces), the
decoder, :func:`present_fields`, :func:`components` and :func:`without_field`, the rules of
every built-in profile (and the refusal they would send), the acknowledgement spliced from
the APDU's bytes, and the state machine. The project's own errors
(:class:`CodecError`, of which :class:`FramingError` is one) are expected; any other exception
escapes, and so does an :class:`Inconsistent` where two parts disagree about the same bytes.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from isoill.codec import plan
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError, FramingError
from isoill.codec.framing import Framer
from isoill.codec.models import IllApdu, StatusOrErrorReport
from isoill.codec.splice import components, present_fields, without_field
from isoill.core import reports
from isoill.core.acknowledgement import Party, acknowledgement
from isoill.ill.apdus import Role
from isoill.rules.engine import Context, judge
from isoill.rules.profiles import BUILT_IN
from isoill.transactions.machine import State, States, advance, event_of, may_follow

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
CONTEXT = Context(NOW)
PROFILES = tuple(BUILT_IN.values())
STATES = tuple(States(requester, responder) for requester in State for responder in State)
SENDERS = (Role.REQUESTER, Role.RESPONDER, None)
INITIATORS: tuple[Party | None, ...] = (None, "requester-id", "responder-id")
COMPONENTS = sorted({member.name for node in plan.APDUS.values() for member in node.fields})


class Inconsistent(Exception):
    """Two parts of the codec read the same bytes differently."""


def exercise(data: bytes, rng: random.Random, tally: Counter[str]) -> None:
    """``data`` as a peer's bytes through every part; counts what became of it in ``tally``."""
    framed = _frame(data, rng, tally)
    for ber in dict.fromkeys([data, *framed]):
        apdu = _decode(ber, tally)
        _splice(ber, apdu, rng, tally)
        if apdu is not None:
            _round_trip(apdu)
            _rules(apdu, tally)
            _acknowledge(ber, rng)
            _machine(apdu, rng)


def _frame(data: bytes, rng: random.Random, tally: Counter[str]) -> list[bytes]:
    """The APDUs the framer finds in ``data``; fed in pieces, it must find the same."""
    whole, error = _framed([data])
    cuts = sorted(rng.sample(range(1, len(data)), max(0, min(len(data) - 1, rng.randint(1, 8)))))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    again, again_error = _framed(pieces)
    if again != whole or repr(again_error) != repr(error):
        raise Inconsistent(
            f"framer: whole {whole!r} {error!r}, in pieces {again!r} {again_error!r}"
        )
    if b"".join(whole) != data[: sum(map(len, whole))]:
        raise Inconsistent("framer: APDUs are not the stream's prefix")
    tally["framing error" if error else "framed"] += 1
    return whole


def _framed(pieces: list[bytes]) -> tuple[list[bytes], FramingError | None]:
    framer = Framer(max_apdu_size=1 << 16, max_depth=64)
    found: list[bytes] = []
    try:
        for piece in pieces:
            framer.feed(piece)
            while (apdu := framer.next_apdu()) is not None:
                found.append(apdu)
    except FramingError as error:
        return found, error
    return found, None


def _decode(ber: bytes, tally: Counter[str]) -> IllApdu | None:
    try:
        apdu = decode(ber)
    except CodecError as error:
        tally[f"decode: {type(error).__name__}"] += 1
        return None
    tally["decoded"] += 1
    return apdu


def _splice(ber: bytes, apdu: IllApdu | None, rng: random.Random, tally: Counter[str]) -> None:
    """present_fields and without_field on any bytes; on an APDU that decodes, they must agree
    with the decoder."""
    try:
        apdu_type, names = present_fields(ber)
    except CodecError:
        if apdu is not None:
            raise Inconsistent("present_fields refuses an APDU that decodes") from None
        tally["present_fields: refused"] += 1
    else:
        if apdu is not None:
            _check_present(apdu, apdu_type, names)
    try:
        components(ber)
    except CodecError:
        if apdu is not None:
            raise Inconsistent("components refuses an APDU that decodes") from None
    field = rng.choice(COMPONENTS)
    try:
        shorter = without_field(ber, field)
    except CodecError:
        if apdu is not None:
            raise Inconsistent(f"without_field({field}) refuses an APDU that decodes") from None
        return
    if apdu is not None:
        _check_without(apdu, field, shorter)


def _check_present(apdu: IllApdu, apdu_type: str, names: frozenset[str]) -> None:
    node = plan.APDUS[apdu.apdu_type]
    carried = {m.name for m in node.fields if getattr(apdu, m.attr) is not None}
    defaults = {m.name for m in node.fields if m.default is not None}
    if apdu_type != apdu.apdu_type or not names <= carried or carried - names - defaults:
        raise Inconsistent(f"present_fields {apdu_type} {sorted(names)}, decoded {carried}")


def _check_without(apdu: IllApdu, field: str, shorter: bytes) -> None:
    """Without an optional component the APDU decodes to the same, less that component."""
    node = plan.APDUS[apdu.apdu_type]
    member = next((m for m in node.fields if m.name == field), None)
    if member is None:
        if shorter != apdu.ber:
            raise Inconsistent(f"without_field({field}) changed an APDU that has no {field}")
        return
    if not member.optional:
        return  # the result lacks a mandatory component: it need not decode
    try:
        again = decode(shorter)
    except CodecError as error:
        raise Inconsistent(f"without_field({field}) made an undecodable APDU: {error}") from None
    expected = apdu.model_copy(update={member.attr: type(apdu).model_fields[member.attr].default})
    if again != expected:
        raise Inconsistent(f"without_field({field}) changed more than {field}")


def _round_trip(apdu: IllApdu) -> None:
    again = decode(encode(apdu))
    if again != apdu:
        raise Inconsistent("decode(encode(apdu)) differs from apdu")


def _rules(apdu: IllApdu, tally: Counter[str]) -> None:
    for profiles in (*((p,) for p in PROFILES), PROFILES):
        verdict = judge(apdu, CONTEXT, profiles)
        for finding in verdict.findings:
            finding.describe()
        if verdict.refused:
            encode(reports.rule_refusal(apdu, verdict.refusals, NOW))
    tally["refused by all profiles" if verdict.refused else "passed all profiles"] += 1


def _acknowledge(ber: bytes, rng: random.Random) -> None:
    """The acknowledgement of an APDU that decodes is a Status-Or-Error-Report that decodes."""
    ack = acknowledgement(ber, NOW, initiator=rng.choice(INITIATORS))
    if not isinstance(decode(ack), StatusOrErrorReport):
        raise Inconsistent("the acknowledgement is no Status-Or-Error-Report")


def _machine(apdu: IllApdu, rng: random.Random) -> None:
    event = event_of(apdu)
    for _ in range(3):
        states, sender = rng.choice(STATES), rng.choice(SENDERS)
        advance(states, event, sender)
        may_follow(states, event, sender)
