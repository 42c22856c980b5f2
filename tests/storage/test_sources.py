"""Sources: sync with the config, state updates, fetch log and health fields."""

from __future__ import annotations

import pytest

from storage import FetchLogEntry, NotFoundError, SourceDef, SourceUpdate, SQLiteStore
from tests.storage.conftest import T0, at


def test_sync_inserts_and_lists(store: SQLiteStore) -> None:
    names = [s.name for s in store.list_sources()]
    assert names == ["feed-a", "feed-b"]
    a = store.get_source("feed-a")
    assert a is not None
    assert (a.url, a.configured_url, a.kind, a.retired, a.consecutive_failures) == (
        "https://a.example/feed.xml",
        "https://a.example/feed.xml",
        "feed",
        False,
        0,
    )
    assert store.get_source("nope") is None
    assert store.counts().sources == 2


def test_conditional_sources_follow_validators_and_retirement(store: SQLiteStore) -> None:
    assert store.conditional_sources() == {"feed-a": False, "feed-b": False}
    store.update_source("feed-a", SourceUpdate(etag='"v1"'))
    store.update_source("feed-b", SourceUpdate(last_modified="Sat, 28 Nov 2026 10:00:00 GMT"))
    assert store.conditional_sources() == {"feed-a": True, "feed-b": True}
    store.update_source("feed-a", SourceUpdate(etag=""))  # cleared: the next poll has a body
    assert store.conditional_sources() == {"feed-a": False, "feed-b": True}
    store.sync_sources([SourceDef("feed-b", "https://b.example/rss", "feed")], at(1))
    assert store.conditional_sources() == {"feed-a": True, "feed-b": True}  # a retired source
    assert {s.name: s.retired or bool(s.etag or s.last_modified) for s in store.list_sources()} == (
        store.conditional_sources()
    )


def test_sync_retires_removed_and_revives_readded(store: SQLiteStore) -> None:
    store.sync_sources([SourceDef("feed-a", "https://a.example/feed.xml", "feed")], at(1))
    b = store.get_source("feed-b")
    assert b is not None and b.retired and b.retired_reason == "removed"
    store.sync_sources(
        [
            SourceDef("feed-a", "https://a.example/feed.xml", "feed"),
            SourceDef("feed-b", "https://b.example/rss", "feed"),
        ],
        at(2),
    )
    b = store.get_source("feed-b")
    assert b is not None and not b.retired and b.retired_reason is None


def test_gone_source_stays_retired_until_its_url_changes(store: SQLiteStore) -> None:
    store.update_source("feed-a", SourceUpdate(retired=True))
    defs = [
        SourceDef("feed-a", "https://a.example/feed.xml", "feed"),
        SourceDef("feed-b", "https://b.example/rss", "feed"),
    ]
    store.sync_sources(defs, at(1))
    a = store.get_source("feed-a")
    assert a is not None and a.retired and a.retired_reason == "gone"
    defs[0] = SourceDef("feed-a", "https://a.example/new-feed.xml", "feed")
    store.sync_sources(defs, at(2))
    a = store.get_source("feed-a")
    assert a is not None and not a.retired


def test_changed_configured_url_resets_validators(store: SQLiteStore) -> None:
    store.update_source(
        "feed-a",
        SourceUpdate(
            url="https://a.example/moved.xml",
            etag='"v1"',
            last_modified="Sun, 01 Mar 2026 10:00:00 GMT",
            next_poll_at=at(30),
        ),
    )
    a = store.get_source("feed-a")
    assert a is not None
    assert (a.url, a.configured_url, a.etag, a.next_poll_at) == (
        "https://a.example/moved.xml",
        "https://a.example/feed.xml",
        '"v1"',
        at(30),
    )
    # the same config again keeps the redirect target and the validators
    store.sync_sources([SourceDef("feed-a", "https://a.example/feed.xml", "feed")], at(1))
    a = store.get_source("feed-a")
    assert a is not None and a.url == "https://a.example/moved.xml" and a.etag == '"v1"'
    store.sync_sources([SourceDef("feed-a", "https://a.example/v2.xml", "page")], at(2))
    a = store.get_source("feed-a")
    assert a is not None
    assert (a.url, a.configured_url, a.kind, a.etag, a.last_modified, a.next_poll_at) == (
        "https://a.example/v2.xml",
        "https://a.example/v2.xml",
        "page",
        None,
        None,
        None,
    )


def test_update_unknown_source(store: SQLiteStore) -> None:
    with pytest.raises(NotFoundError):
        store.update_source("nope", SourceUpdate(etag="x"))
    with pytest.raises(NotFoundError):
        store.update_source("nope", SourceUpdate())
    store.update_source("feed-a", SourceUpdate())  # nothing to change, no error


def test_record_fetch_tracks_health(store: SQLiteStore) -> None:
    url = "https://a.example/feed.xml"
    store.record_fetch(
        FetchLogEntry("feed-a", url, at(1), "ok", 200, duration_ms=12, items=10, new_items=3)
    )
    s = store.get_source("feed-a")
    assert s is not None
    assert (s.last_attempt_at, s.last_success_at, s.items_seen, s.last_new_item_at) == (
        at(1),
        at(1),
        10,
        at(1),
    )
    store.record_fetch(FetchLogEntry("feed-a", url, at(2), "error", 503, error="HTTP 503"))
    store.record_fetch(FetchLogEntry("feed-a", url, at(3), "error", None, error="timeout"))
    s = store.get_source("feed-a")
    assert s is not None
    assert s.consecutive_failures == 2 and s.failing_since == at(2)
    assert (s.last_error, s.last_error_at, s.last_attempt_at) == ("timeout", at(3), at(3))
    assert s.last_success_at == at(1)
    store.record_fetch(FetchLogEntry("feed-a", url, at(4), "skipped"))
    s = store.get_source("feed-a")
    assert s is not None and s.last_attempt_at == at(3) and s.consecutive_failures == 2
    store.record_fetch(FetchLogEntry("feed-a", url, at(5), "not_modified", 304, items=0))
    s = store.get_source("feed-a")
    assert s is not None
    assert (s.consecutive_failures, s.failing_since, s.last_success_at) == (0, None, at(5))
    assert s.items_seen == 10 and s.last_new_item_at == at(1)
    with pytest.raises(NotFoundError):
        store.record_fetch(FetchLogEntry("nope", url, at(6), "ok"))


def test_fetch_log_newest_first_and_filtered(store: SQLiteStore) -> None:
    for i in range(5):
        src = "feed-a" if i % 2 == 0 else "feed-b"
        store.record_fetch(FetchLogEntry(src, f"https://{src}/", at(i), "ok", 200, items=i))
    log = store.fetch_log()
    assert [e.at for e in log] == [at(i) for i in (4, 3, 2, 1, 0)]
    assert [e.items for e in store.fetch_log("feed-a", limit=2)] == [4, 2]
    entry = store.fetch_log("feed-b")[0]
    assert entry == FetchLogEntry("feed-b", "https://feed-b/", at(3), "ok", 200, items=3)
    assert store.fetch_log("nope") == []
    assert store.prune_fetch_log(at(2)) == 2
    assert [e.at for e in store.fetch_log()] == [at(4), at(3), at(2)]
    assert store.prune_fetch_log(at(2)) == 0


def test_times_are_utc_aware(store: SQLiteStore) -> None:
    from datetime import timedelta, timezone

    paris = timezone(timedelta(hours=1))
    store.record_fetch(FetchLogEntry("feed-a", "u", T0.astimezone(paris), "ok"))
    entry = store.fetch_log("feed-a")[0]
    assert entry.at == T0 and entry.at.utcoffset() == timedelta(0)
