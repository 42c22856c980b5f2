"""Article URL aliases (a redirected feed link), page retry bookkeeping, clearing validators
(schema migration 4)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from storage import SourceDef, SourceUpdate, SQLiteStore, canonical_url
from storage.sqlite import open_store
from tests.storage.conftest import T0, article, at, body

OLD = "https://feeds.example/r/abc123"


def test_alias_of_a_new_article_is_known(store: SQLiteStore) -> None:
    a = dataclasses.replace(article(), aliases=(canonical_url(OLD),))
    out = store.record_article(a, [], {}, T0)
    assert store.known_article(canonical_url(OLD)) == out.article_id
    assert store.known_articles([(canonical_url(OLD), None), ("https://x.example/n", None)]) == [
        out.article_id,
        None,
    ]


def test_alias_added_by_a_duplicate_and_alias_equal_to_canonical_ignored(
    store: SQLiteStore,
) -> None:
    first = store.record_articles([(article(), [], {}, ())], T0)[0]
    dup = dataclasses.replace(
        article(source="feed-b"), aliases=(canonical_url(OLD), article().canonical_url, "")
    )
    again = store.record_articles([(dup, [], {}, ())], at(5))[0]
    assert not again.created and again.article_id == first.article_id
    assert store.known_articles([(canonical_url(OLD), None)]) == [first.article_id]
    rows = store._conn.execute("SELECT canonical_url FROM article_urls").fetchall()
    assert rows == [(canonical_url(OLD),)]


def test_page_failures_count_up_keep_first_time_and_clear(store: SQLiteStore) -> None:
    assert store.note_page_failures([("u1", "timeout"), ("u2", "HTTP 503")], T0) == [
        (1, T0),
        (1, T0),
    ]
    assert store.note_page_failures([("u1", "HTTP 503")], at(30)) == [(2, T0)]
    store.clear_page_failures(["u1", ""])
    assert store.note_page_failures([("u1", "timeout"), ("u2", "x")], at(60)) == [
        (1, at(60)),
        (2, T0),
    ]
    store.clear_page_failures([])


def test_empty_validators_clear_the_stored_ones(store: SQLiteStore) -> None:
    store.sync_sources([SourceDef("s", "https://s.example/feed", "feed")], T0)
    store.update_source("s", SourceUpdate(etag='"v1"', last_modified="Sat, 28 Nov 2026"))
    store.update_source("s", SourceUpdate(etag=None, last_modified=None))
    st = store.get_source("s")
    assert st is not None and (st.etag, st.last_modified) == ('"v1"', "Sat, 28 Nov 2026")
    store.update_source("s", SourceUpdate(etag="", last_modified=""))
    st = store.get_source("s")
    assert st is not None and (st.etag, st.last_modified) == (None, None)


def test_an_article_known_by_an_alias_is_not_stored_again(tmp_path: Path) -> None:
    """Two sources carrying one story in the same poll both look it up before either is
    stored; the one that reached it through a redirect stored the other's URL as an alias."""
    with open_store(tmp_path / "a.db") as store:
        short, final = "https://news.example/s/1", "https://news.example/2026/story"
        first = dataclasses.replace(
            article(final, "feed-a", text=body("page")), aliases=(canonical_url(short),)
        )
        [stored] = store.record_articles([(first, [], {}, ())], at(0))
        # feed-b links the short URL, with its own teaser text (another content hash)
        [again] = store.record_articles(
            [(article(short, "feed-b", text=body("teaser")), [], {}, ())], at(0)
        )
        assert not again.created and again.article_id == stored.article_id
        assert store.get_article(stored.article_id).sources == ("feed-a", "feed-b")
        # and one seen as a duplicate under its own URL is found by that URL next time
        third = article("https://mirror.example/story", "feed-c", text=body("page"))
        [dup] = store.record_articles([(third, [], {}, ())], at(1))  # same text: same story
        [by_url] = store.record_articles(
            [(article("https://mirror.example/story", "feed-d", text=body("x")), [], {}, ())],
            at(2),
        )
        assert not dup.created and by_url.article_id == stored.article_id
