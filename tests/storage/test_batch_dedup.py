"""record_articles looks every key of a batch up in one query and runs the exact duplicate
lookup only for articles that share a key with the database or an earlier item: whatever the
overlaps, it stores exactly what one-by-one record_article calls store."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from storage import NewArticle, SQLiteStore, canonical_url
from storage.sqlite import open_store
from tests.storage.conftest import T0, match

URLS = [f"https://n.example/story-{i}" for i in range(5)]
# short GUIDs are feed-local, a tag: URI is global (storage.urls.guid_is_global)
GUIDS = ["", "17", "18", "tag:n.example,2026:1", "tag:n.example,2026:2"]
TEXTS = [
    f"Invented story number {i} about model releases and data centre spending." for i in range(3)
]
SOURCES = ["feed-a", "feed-b"]

item = st.builds(
    lambda u, g, t, s, title, aliases, h: NewArticle(
        url=URLS[u],
        canonical_url=canonical_url(URLS[u]),
        source=SOURCES[s],
        title=f"Title {title}",
        text=TEXTS[t],
        guid=GUIDS[g] or None,
        aliases=tuple(canonical_url(URLS[a]) for a in aliases),
        content_hash=h,
    ),
    st.integers(0, len(URLS) - 1),
    st.integers(0, len(GUIDS) - 1),
    st.integers(0, len(TEXTS) - 1),
    st.integers(0, len(SOURCES) - 1),
    st.integers(0, 2),
    st.lists(st.integers(0, len(URLS) - 1), max_size=2),
    # None: the store hashes title and text; "": no hash; else a given one (shared by design)
    st.sampled_from([None, "", "hash-a", "hash-b"]),
)


def _state(store: SQLiteStore) -> list[list[tuple[object, ...]]]:
    conn = store.db.conn
    queries = (
        "SELECT id, url, canonical_url, source, title, guid, content_hash FROM articles",
        "SELECT article_id, source, url, canonical_url FROM article_sources",
        "SELECT canonical_url, article_id FROM article_urls",
        "SELECT article_id, rule FROM matches",
        "SELECT article_id, channel, also_reported_by FROM alerts",
        "SELECT id FROM fts_pending",
    )
    return [sorted(conn.execute(q).fetchall()) for q in queries]


def _art(
    url: int,
    *,
    guid: str = "",
    title: str = "T",
    text: int = 0,
    src: int = 0,
    aliases: tuple[int, ...] = (),
    h: str | None = None,
) -> NewArticle:
    return NewArticle(
        url=URLS[url],
        canonical_url=canonical_url(URLS[url]),
        source=SOURCES[src],
        title=title,
        text=TEXTS[text],
        guid=guid or None,
        aliases=tuple(canonical_url(URLS[a]) for a in aliases),
        content_hash=h,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# overlaps random examples find only now and then: a stored article sharing only the hash,
# only a (global) GUID, and an earlier item's alias reused as a later item's URL
@example(before=[_art(0, h="hash-a")], batch=[_art(1, h="hash-a", title="Other")])
@example(before=[_art(0, guid=GUIDS[3])], batch=[_art(1, guid=GUIDS[3], text=1, src=1)])
@example(before=[], batch=[_art(0, aliases=(2,)), _art(2, text=1, title="Other", src=1)])
@given(
    before=st.lists(item, max_size=4),
    batch=st.lists(item, min_size=1, max_size=8),
)
def test_batch_stores_what_one_by_one_stores(
    before: list[NewArticle], batch: list[NewArticle]
) -> None:
    with (
        tempfile.TemporaryDirectory() as d,
        open_store(Path(d) / "one.db") as one,
        open_store(Path(d) / "batch.db") as many,
    ):
        for store in (one, many):
            for a in before:
                store.record_article(a, [], {}, T0)
        items = [(a, [match()], {"ops": ["deepseek"]}, ()) for a in batch]
        singles = [one.record_article(a, m, al, T0) for a, m, al, _ in items]
        outs = many.record_articles(items, T0)
        assert [(o.article_id, o.created) for o in outs] == [
            (o.article_id, o.created) for o in singles
        ]
        assert _state(one) == _state(many)


def test_a_batch_of_new_articles_needs_one_lookup(tmp_path: Path) -> None:
    """The point of the pre-check: no per-article duplicate query when nothing overlaps."""
    with open_store(tmp_path / "w.db") as store:
        store.record_article(
            NewArticle(
                url=URLS[0],
                canonical_url=canonical_url(URLS[0]),
                source="feed-a",
                title="Old",
                text=TEXTS[0],
            ),
            [],
            {},
            T0,
        )
        seen: list[str] = []
        store._conn.set_trace_callback(seen.append)
        new = [
            NewArticle(
                url=f"https://n.example/new-{i}",
                canonical_url=f"https://n.example/new-{i}",
                source="feed-a",
                title=f"New {i}",
                text=f"Fresh text {i}",
                guid=f"g{i}",
            )
            for i in range(20)
        ]
        dup = NewArticle(
            url=URLS[0],
            canonical_url=canonical_url(URLS[0]),
            source="feed-b",
            title="Old again",
            text="other words",
        )
        outs = store.record_articles([(a, [], {}, ()) for a in [*new, dup]], T0)
        store._conn.set_trace_callback(None)
        assert [o.created for o in outs] == [True] * 20 + [False]
        assert outs[-1].article_id == 1
        lookups = [s for s in seen if "UNION ALL" in s]
        # the batch's pre-check, then the exact lookup for the one article that overlaps
        assert len(lookups) == 2
        assert "ORDER BY r LIMIT 1" in lookups[1]


def test_batches_larger_than_one_lookup_statement(tmp_path: Path) -> None:
    """Over 500 keys of a kind (several IN lists) and over 999 parameters (several pre-check
    statements): hits at the chunk edges, by URL, GUID or hash alone, are all found."""
    n = 1300
    hits = [0, 499, 500, 501, 998, 999, 1000, 1299]

    def old(i: int) -> NewArticle:
        return NewArticle(
            url=f"https://o.example/{i}",
            canonical_url=f"https://o.example/{i}",
            source="feed-a",
            title=f"Old {i}",
            text=f"old text {i}",
            guid=f"tag:o.example,2026:{i}",
            content_hash=f"old-{i}",
        )

    def new(i: int) -> NewArticle:
        kind = hits.index(i) % 3 if i in hits else None  # which one key it shares
        return NewArticle(
            url=f"https://n.example/{i}",
            canonical_url=f"https://{'o' if kind == 0 else 'n'}.example/{i}",
            source="feed-b",
            title=f"New {i}",
            text=f"new text {i}",
            guid=f"tag:{'o' if kind == 1 else 'n'}.example,2026:{i}",
            content_hash=f"{'old' if kind == 2 else 'new'}-{i}",
        )

    with open_store(tmp_path / "one.db") as one, open_store(tmp_path / "many.db") as many:
        for store in (one, many):
            store.record_articles([(old(i), [], {}, ()) for i in range(n)], T0)
        items = [(new(i), [], {}, ()) for i in range(n)]
        singles = [one.record_article(a, [], {}, T0) for a, *_ in items]
        traced: list[str] = []
        many._conn.set_trace_callback(traced.append)
        outs = many.record_articles(items, T0)
        many._conn.set_trace_callback(None)
        assert [(o.article_id, o.created) for o in outs] == [
            (o.article_id, o.created) for o in singles
        ]
        assert [i for i, o in enumerate(outs) if not o.created] == hits
        assert _state(one) == _state(many)
        prechecks = [q for q in traced if q.startswith("SELECT '")]
        assert len(prechecks) > 1  # 3 x 1,300 keys: more than one statement's worth
