"""When to try again and when to hold back: backoff with jitter, Retry-After, quiet hours.

Pure functions of their arguments (``now`` is always passed in; randomness through an
injectable :class:`random.Random`).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from watcher.config import SEVERITIES
from watcher.http import parse_retry_after as http_retry_after

BACKOFF_BASE = 30.0  # seconds before the 2nd attempt (before jitter)
BACKOFF_CAP = 3600.0  # never wait longer than this between two attempts (unless asked)
RETRY_AFTER_CAP = 6 * 3600.0  # a receiver asking for more than this is capped


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1-based): exponential
    (30 s, 60 s, 120 s, ... capped at 1 h) with "equal jitter" (between half and all of it),
    so that many alerts failing together do not retry in lockstep."""
    rng = rng or random.Random()
    exp = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(0, min(attempts - 1, 30)))
    return exp / 2 + rng.uniform(0, exp / 2)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (delta seconds or an HTTP date) -> seconds from ``now``,
    capped at 6 h; ``None`` when absent or unparsable."""
    seconds = http_retry_after(value, now)
    return None if seconds is None else min(seconds, RETRY_AFTER_CAP)


def next_attempt(
    now: datetime,
    created_at: datetime,
    attempts: int,
    horizon: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after the ``attempts``-th failure, or ``None`` to give up (the retry
    horizon, counted from the alert's creation, has passed). The receiver's Retry-After wins
    over a shorter backoff. An attempt that would fall past the horizon is moved onto it, so
    that the last try happens at the horizon."""
    deadline = created_at + timedelta(seconds=horizon)
    if now >= deadline:
        return None
    delay = backoff_delay(attempts, rng)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(now + timedelta(seconds=delay), deadline)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def in_quiet_hours(now: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo) -> bool:
    """Whether ``now`` falls in the daily quiet window ``[start, end)`` (local time in
    ``zone``; a window may wrap midnight, e.g. 22:00-07:00). An empty window is never quiet."""
    if quiet is None:
        return False
    start, end = quiet
    if start == end:
        return False
    local = now.astimezone(zone).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(now: datetime, quiet: tuple[time, time], zone: ZoneInfo) -> datetime:
    """The first moment (UTC) at or after ``now`` when the quiet window ends."""
    _, end = quiet
    local = now.astimezone(zone)
    for days in range(3):
        day = local.date() + timedelta(days=days)
        candidate = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
        if candidate > now:
            return candidate
    return now + timedelta(days=1)  # pragma: no cover - unreachable for a valid window
