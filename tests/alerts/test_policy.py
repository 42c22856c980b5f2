"""Backoff, Retry-After and quiet-hours arithmetic."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from watcher.alerts.policy import (
    BACKOFF_CAP,
    backoff_delay,
    in_quiet_hours,
    next_attempt,
    parse_retry_after,
    quiet_hours_end,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    firsts = {round(backoff_delay(1, rng), 3) for _ in range(20)}
    assert len(firsts) > 1  # jitter
    assert all(15 <= d <= 30 for d in firsts)
    assert all(60 <= backoff_delay(3, rng) <= 120 for _ in range(20))
    assert all(BACKOFF_CAP / 2 <= backoff_delay(50, rng) <= BACKOFF_CAP for _ in range(20))


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Mon, 02 Mar 2026 12:05:00 GMT", NOW) == 300
    assert parse_retry_after("yesterday", NOW) is None
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("999999", NOW) == 6 * 3600


def test_next_attempt_honours_retry_after_and_horizon() -> None:
    created = NOW - timedelta(hours=1)
    when = next_attempt(NOW, created, 1, 24 * 3600, retry_after=600, rng=random.Random(0))
    assert when == NOW + timedelta(seconds=600)
    # last try is put on the horizon; past it we give up
    late = created + timedelta(hours=23, minutes=59)
    assert next_attempt(late, created, 9, 24 * 3600) == created + timedelta(hours=24)
    assert next_attempt(created + timedelta(hours=24), created, 10, 24 * 3600) is None


def test_quiet_hours_wrapping_midnight_in_local_time() -> None:
    quiet = (time(22, 0), time(7, 0))
    # 23:30 Paris (winter, UTC+1) is 22:30 UTC
    night = datetime(2026, 1, 10, 22, 30, tzinfo=UTC)
    assert in_quiet_hours(night, quiet, PARIS)
    assert quiet_hours_end(night, quiet, PARIS) == datetime(2026, 1, 11, 6, 0, tzinfo=UTC)
    assert not in_quiet_hours(datetime(2026, 1, 10, 12, 0, tzinfo=UTC), quiet, PARIS)
    assert not in_quiet_hours(night, None, PARIS)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    st.times(),
    st.times(),
    st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Shanghai", "Asia/Riyadh"]),
)
def test_quiet_hours_end_is_after_now_and_not_quiet(
    now: datetime, start: time, end: time, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    if start == end:
        return
    quiet = (start, end)
    if in_quiet_hours(now, quiet, zone):
        until = quiet_hours_end(now, quiet, zone)
        assert now < until <= now + timedelta(days=1, hours=2)
        assert not in_quiet_hours(until, quiet, zone)
