"""Go-style durations: what parses, what is refused, and that writing one reads back the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartlicensing.api.durations import InvalidDuration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("24h", timedelta(hours=24), id="hours"),
        pytest.param("90m", timedelta(minutes=90), id="minutes"),
        pytest.param("1h30m", timedelta(hours=1, minutes=30), id="compound"),
        pytest.param("1.5h", timedelta(minutes=90), id="fraction"),
        pytest.param("45s", timedelta(seconds=45), id="seconds"),
        pytest.param("500ms", timedelta(milliseconds=500), id="milliseconds"),
        pytest.param("1m30s250ms", timedelta(seconds=90.25), id="minutes-seconds-ms"),
        pytest.param("0s", timedelta(0), id="zero"),
    ],
)
def test_parses_go_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("24", id="no-unit"),
        pytest.param("h", id="no-number"),
        pytest.param("1d", id="days-unknown-to-go"),
        pytest.param("-5m", id="negative"),
        pytest.param("1h 30m", id="space"),
        pytest.param("PT1H", id="iso8601"),
    ],
)
def test_refuses_what_go_would_not_read(text: str) -> None:
    with pytest.raises(InvalidDuration, match="is not a duration: write a number and a unit"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(timedelta(hours=24), "24h", id="day"),
        pytest.param(timedelta(hours=1, minutes=30), "1h30m", id="compound"),
        pytest.param(timedelta(seconds=59), "59s", id="seconds"),
        pytest.param(timedelta(0), "0s", id="zero"),
        pytest.param(timedelta(hours=2, seconds=3), "2h3s", id="skips-zero-minutes"),
    ],
)
def test_formats_the_shortest_spelling(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


@given(st.integers(min_value=0, max_value=10 * 365 * 86400))
def test_format_then_parse_is_identity_on_whole_seconds(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
