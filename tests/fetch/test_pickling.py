"""Parsed feeds travel from the pool workers as constructor calls: equal after the round
trip, subclasses with fields of their own included."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import UTC, datetime

from watcher.feeds import FeedItem, ParsedFeed
from watcher.jobs import Prepared, PreparedFeed

ITEM = FeedItem(
    url="https://n.example/1",
    guid="g1",
    title="Invented title",
    summary="Invented summary",
    content="",
    published=datetime(2026, 11, 28, 12, tzinfo=UTC),
    language="en",
)


@dataclass(frozen=True, slots=True)
class TaggedItem(FeedItem):
    tag: str = "default"


@dataclass(frozen=True, slots=True)
class CachedFeed(ParsedFeed):
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class TimedFeed(PreparedFeed):
    seconds: float = 0.0


def _round_trip(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))


def test_round_trips_are_equal() -> None:
    feed = ParsedFeed("Feed", "https://n.example/", 600.0, (ITEM,), "en")
    prepared = PreparedFeed(feed, (Prepared("https://n.example/1", "h", "en", []),))
    for obj in (ITEM, feed, prepared):
        back = _round_trip(obj)
        assert back == obj and type(back) is type(obj)


def test_subclass_fields_survive() -> None:
    item = TaggedItem(*(getattr(ITEM, f) for f in ITEM.__dataclass_fields__), tag="kept")
    feed = CachedFeed("Feed", None, None, (item,), None, etag='"v1"')
    timed = TimedFeed(feed, (), seconds=1.5)
    back = _round_trip(timed)
    assert isinstance(back, TimedFeed) and back.seconds == 1.5
    assert isinstance(back.feed, CachedFeed) and back.feed.etag == '"v1"'
    assert isinstance(back.feed.items[0], TaggedItem) and back.feed.items[0].tag == "kept"
    assert back == timed
