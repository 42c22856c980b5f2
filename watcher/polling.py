"""When to poll a source next: the configured interval (or the adaptive one for
``every = "auto"``), bounded below by the feed's ``<ttl>`` / ``Cache-Control: max-age``,
exponential backoff after errors (capped, never giving up), Retry-After, and jitter."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.config import FetchConfig, SourceConfig

__all__ = ["PollHints", "adaptive_interval", "backoff_delay", "next_delay", "next_poll_time"]

MIN_RETRY = 60.0
MAX_RETRY_AFTER = 24 * 3600.0  # a server's Retry-After never blocks a source for longer
_MAX_DOUBLINGS = 62  # 2**62 x any interval is beyond every cap; keeps the power finite


@dataclass(frozen=True, slots=True)
class PollHints:
    """What the last poll of a source taught us."""

    failures: int = 0  # consecutive failures, 0 after a success
    retry_after: float | None = None  # seconds the server asked us to wait
    min_interval: float | None = None  # feed <ttl> or Cache-Control max-age, seconds
    observed: float | None = None  # adaptive interval from the publishing rate (auto mode)


def backoff_delay(interval: float, failures: int, cap: float) -> float:
    """Delay after ``failures`` consecutive errors: the interval, then doubling, capped.
    A failing source keeps being retried at the cap, never dropped."""
    if failures <= 0:
        return interval
    cap = max(cap, MIN_RETRY)
    doublings = min(failures - 1, _MAX_DOUBLINGS)
    return min(max(interval, MIN_RETRY) * 2.0**doublings, cap)


def adaptive_interval(published: Iterable[datetime | None], source: SourceConfig) -> float | None:
    """For ``every = "auto"``: half the median gap between the newest items, within the
    source's ``min_every`` / ``max_every``; ``None`` when there are too few dated items."""
    dates = sorted({d for d in published if d is not None}, reverse=True)[:30]
    if len(dates) < 3:
        return None
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(dates)]
    gaps = [g for g in gaps if g > 0]
    if not gaps:
        return None
    import statistics  # only for adaptive sources: ~4 ms of every start-up otherwise

    return min(max(statistics.median(gaps) / 2.0, source.min_every), source.max_every)


def next_delay(
    source: SourceConfig, cfg: FetchConfig, hints: PollHints, rng: random.Random | None = None
) -> float:
    """Seconds until the next poll of ``source``."""
    interval = source.every
    if source.auto and hints.observed is not None:
        interval = hints.observed
    if hints.min_interval is not None and hints.failures == 0:
        bound = min(hints.min_interval, max(source.max_every, interval))
        interval = max(interval, bound)
    delay = backoff_delay(interval, hints.failures, max(cfg.backoff_cap, interval))
    if cfg.jitter > 0:
        r = rng or random
        delay *= 1.0 + r.uniform(-cfg.jitter, cfg.jitter)
    if hints.retry_after is not None:
        delay = max(delay, min(hints.retry_after, max(cfg.backoff_cap, MAX_RETRY_AFTER)))
    return delay


def next_poll_time(
    source: SourceConfig,
    cfg: FetchConfig,
    hints: PollHints,
    now: datetime,
    rng: random.Random | None = None,
) -> datetime:
    return now + timedelta(seconds=next_delay(source, cfg, hints, rng))
