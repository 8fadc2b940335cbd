"""ISO 10161's dates and times and ISO 18626's ``xs:dateTime``, both ways.

ISO 10161 writes an ISO-Date ``YYYYMMDD`` and an ISO-Time ``HHMMSS`` with no zone: the
sender's local time. ISO 18626 writes ``xs:dateTime`` with a zone. So each ISO 10161 side has
an IANA zone (the 18626 peer's settings name it), and:

- an instant (a timestamp, a date shipped or received) goes out in UTC, written with ``Z``;
  an ISO-Date without its ISO-Time is that day's local midnight;
- a date that is only a date (a due date, a need-before date) goes out as local midnight with
  the zone's offset, so that a reader that keeps only the date keeps the right one;
- a ``xs:dateTime`` coming in is converted to the zone before its date and time are written;
  one without a zone (valid, and sent) is read as a time in that zone.

Fractional seconds have no place in ISO-Time and are dropped, ``24:00:00`` is the next day's
midnight, and an ISO-Time's leap second (``235960``) the last second of its minute. A time
inside a daylight-saving change is one ISO 10161 cannot tell apart (an hour that happens
twice): the earlier one is taken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from xsdata.models.datatype import XmlDateTime

__all__ = [
    "OutOfRange",
    "as_xml",
    "date_10161",
    "date_out",
    "instant_out",
    "moment",
    "read",
    "time_10161",
    "zone",
]


class OutOfRange(ValueError):
    """A date-time ISO 10161 cannot write: a year before 1 or after 9999."""


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; :class:`ValueError` for a name the system does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def moment(date: str, time: str | None, where: ZoneInfo) -> datetime:
    """The instant an ISO-Date and optional ISO-Time name in ``where`` (midnight without a
    time). :class:`ValueError` for a date or time that is not one."""
    if len(date) != 8 or not date.isdigit():
        raise ValueError(f"{date!r} is not an ISO-Date")
    day = datetime.strptime(date, "%Y%m%d")
    if time:
        if len(time) != 6 or not time.isdigit():
            raise ValueError(f"{time!r} is not an ISO-Time")
        hour, minute, second = int(time[0:2]), int(time[2:4]), min(int(time[4:6]), 59)
        day = datetime.combine(day.date(), clock_time(hour, minute, second))
    return day.replace(tzinfo=where)


def instant_out(date: str, time: str | None, where: ZoneInfo) -> datetime:
    """An ISO 10161 instant as ISO 18626 writes it: in UTC."""
    return moment(date, time, where).astimezone(UTC)


def date_out(date: str, where: ZoneInfo) -> datetime:
    """An ISO 10161 date as ISO 18626 writes a date: local midnight, with its offset."""
    return moment(date, None, where)


def read(value: XmlDateTime, where: ZoneInfo) -> datetime:
    """An ``xs:dateTime`` as an aware datetime; without a zone, read in ``where``.
    :class:`OutOfRange` for a year Python (and ISO 10161) cannot hold."""
    if not 1 <= value.year <= 9999:
        raise OutOfRange(f"{value}: the year {value.year} is out of range")
    midnight = value.hour == 24
    moment_ = datetime(
        value.year,
        value.month,
        value.day,
        0 if midnight else value.hour,
        value.minute,
        value.second,
        value.fractional_second // 1000,
    )
    try:
        if midnight:
            moment_ += timedelta(days=1)
        if value.offset is None:
            return moment_.replace(tzinfo=where)
        return moment_.replace(tzinfo=UTC) - timedelta(minutes=value.offset)
    except OverflowError:
        raise OutOfRange(f"{value}: out of range") from None


def date_10161(value: datetime, where: ZoneInfo) -> str:
    """The ISO-Date of ``value`` in ``where``."""
    return _local(value, where).strftime("%Y%m%d")


def time_10161(value: datetime, where: ZoneInfo) -> str:
    """The ISO-Time of ``value`` in ``where``."""
    return _local(value, where).strftime("%H%M%S")


def as_xml(value: datetime) -> XmlDateTime:
    """An aware datetime as xsdata holds a ``xs:dateTime``, with its own offset (UTC: ``Z``)."""
    assert value.tzinfo is not None, "ISO 18626 date-times carry a zone"
    return XmlDateTime.from_datetime(value)


def _local(value: datetime, where: ZoneInfo) -> datetime:
    try:
        return value.astimezone(where)
    except OverflowError:
        raise OutOfRange(f"{value.isoformat()}: out of ISO 10161's range in {where.key}") from None
