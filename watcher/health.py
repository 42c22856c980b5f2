"""Source health derived from stored fetch state: ok, failing, stale, retired or new.

A failing source is never silently dead: ``watcher sources``, the log and the digest show which
sources are failing or stale, since when, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from storage.models import SourceState
from storage.urls import redacted

HealthState = Literal["ok", "failing", "stale", "retired", "new"]

# A source is stale when nothing new arrived for this long (and it has been polled since).
STALE_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class SourceHealth:
    name: str
    url: str
    state: HealthState
    since: datetime | None
    reason: str


def source_health(
    s: SourceState, now: datetime, stale_after: timedelta = STALE_AFTER
) -> SourceHealth:
    """Classify one source at ``now`` (its URL as fit to show: no password)."""
    url = redacted(s.url)
    if s.retired:
        reason = redacted(s.last_error) if s.last_error else "retired"
        return SourceHealth(s.name, url, "retired", s.last_error_at, reason)
    if s.consecutive_failures > 0:
        return SourceHealth(
            s.name,
            url,
            "failing",
            s.failing_since or s.last_error_at,
            f"{redacted(s.last_error or 'error')} ({s.consecutive_failures} failed attempt(s)"
            " in a row)",
        )
    if s.last_success_at is None:
        return SourceHealth(s.name, url, "new", None, "not polled yet")
    last_new = s.last_new_item_at
    if last_new is not None and now - last_new > stale_after:
        days = (now - last_new).days
        return SourceHealth(s.name, url, "stale", last_new, f"no new item for {days} days")
    if last_new is None and s.items_seen == 0 and s.last_success_at is not None:
        return SourceHealth(s.name, url, "stale", s.last_success_at, "no items so far")
    return SourceHealth(s.name, url, "ok", s.last_success_at, "")


def unhealthy(states: list[SourceState], now: datetime) -> list[SourceHealth]:
    """Failing and stale sources, worst first (failing before stale, oldest first)."""
    rank = {"failing": 0, "stale": 1}
    found = [h for h in (source_health(s, now) for s in states) if h.state in rank]
    return sorted(found, key=lambda h: (rank[h.state], h.since or now, h.name))
