"""ISO 10161's zone-less dates and times and xs:dateTime: instants out in UTC, dates as local
midnight with the offset, zone-less values read in the peer's zone, and both directions
inverse wherever the local time says which instant it is (properties over zones with
daylight saving, and across its changes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xsdata.models.datatype import XmlDateTime

from isoill.bridge.times import (
    OutOfRange,
    as_xml,
    date_10161,
    date_out,
    instant_out,
    moment,
    read,
    time_10161,
    zone,
)

PROPERTIES = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",  # daylight saving once began at midnight
    "Australia/Lord_Howe",  # a half-hour change
    "Asia/Kolkata",
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
]
BERLIN = zone("Europe/Berlin")


def test_an_instant_goes_out_in_utc_with_z() -> None:
    out = instant_out("20240501", "103000", BERLIN)
    assert out == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert str(as_xml(out)) == "2024-05-01T08:30:00Z"


def test_a_date_without_its_time_is_local_midnight() -> None:
    assert instant_out("20240101", None, BERLIN) == datetime(2023, 12, 31, 23, tzinfo=UTC)


def test_a_date_goes_out_as_local_midnight_with_the_offset() -> None:
    assert str(as_xml(date_out("20240501", BERLIN))) == "2024-05-01T00:00:00+02:00"
    assert str(as_xml(date_out("20240101", BERLIN))) == "2024-01-01T00:00:00+01:00"


def test_a_date_time_coming_in_is_written_in_the_10161_zone() -> None:
    value = read(XmlDateTime.from_string("2024-06-05T23:59:59Z"), BERLIN)
    assert (date_10161(value, BERLIN), time_10161(value, BERLIN)) == ("20240606", "015959")


def test_a_date_time_without_a_zone_is_read_in_the_peers_zone() -> None:
    value = read(XmlDateTime.from_string("2024-06-05T10:00:00"), BERLIN)
    assert value == datetime(2024, 6, 5, 8, tzinfo=UTC)


def test_fractions_midnight_at_24_and_leap_seconds() -> None:
    assert read(XmlDateTime.from_string("2024-06-05T10:00:00.75Z"), BERLIN).microsecond == 750000
    assert time_10161(datetime(2024, 1, 1, 0, 0, 0, 750000, tzinfo=UTC), BERLIN) == "010000"
    midnight = read(XmlDateTime.from_string("2024-06-05T24:00:00Z"), BERLIN)
    assert midnight == datetime(2024, 6, 6, tzinfo=UTC)
    assert moment("20161231", "235960", ZoneInfo("UTC")).second == 59


@pytest.mark.parametrize("text", ["10000-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00"])
def test_a_year_iso_10161_cannot_write_is_out_of_range(text: str) -> None:
    with pytest.raises(OutOfRange):
        value = read(XmlDateTime.from_string(text), BERLIN)
        date_10161(value, zone("Pacific/Pago_Pago"))


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus_Mons")


@pytest.mark.parametrize(("day", "time"), [("2024051", None), ("20240501", "1030"), ("x", None)])
def test_a_malformed_date_or_time_is_no_moment(day: str, time: str | None) -> None:
    with pytest.raises(ValueError):
        moment(day, time, BERLIN)


_INSTANTS = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30), timezones=st.just(UTC)
).map(lambda value: value.replace(microsecond=0))


def _ambiguous(local: datetime) -> bool:
    """Whether the local time happens twice (the hour a daylight-saving change repeats)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


@PROPERTIES
@given(instant=_INSTANTS, name=st.sampled_from(ZONES))
def test_an_instant_comes_back_from_its_10161_date_and_time(instant: datetime, name: str) -> None:
    where = zone(name)
    day, time = date_10161(instant, where), time_10161(instant, where)
    back = instant_out(day, time, where)
    if _ambiguous(instant.astimezone(where)):
        assert abs(back - instant) <= timedelta(hours=1)  # the earlier one is taken
    else:
        assert back == instant
    # and through the XML value the wire layer writes
    assert read(as_xml(back), where) == back


@PROPERTIES
@given(
    local=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30)),
    name=st.sampled_from(ZONES),
)
def test_a_10161_date_and_time_come_back_from_their_instant(local: datetime, name: str) -> None:
    where = zone(name)
    day, time = local.strftime("%Y%m%d"), local.strftime("%H%M%S")
    instant = instant_out(day, time, where)
    exists = instant.astimezone(where).replace(tzinfo=None) == local.replace(microsecond=0)
    if exists:  # not a time a daylight-saving change skips
        assert (date_10161(instant, where), time_10161(instant, where)) == (day, time)


@PROPERTIES
@given(day=st.dates(min_value=date(1900, 1, 2)), name=st.sampled_from(ZONES))
def test_a_date_comes_back_from_its_local_midnight(day: date, name: str) -> None:
    where = zone(name)
    text = day.strftime("%Y%m%d")
    out = date_out(text, where)
    assert date_10161(out, where) == text
    assert date_10161(read(as_xml(out), where), where) == text
    assert date_10161(read(as_xml(out.astimezone(UTC)), where), where) == text
