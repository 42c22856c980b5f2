"""Batched writes (record_articles, known_articles, add_article_sources) behave exactly like
the one-by-one calls, and the deferred search index stays exact."""

from __future__ import annotations

import pytest

from storage import SQLiteStore, StorageError
from storage.sqlite import open_store
from tests.storage.conftest import T0, article, at, match


def _state(store: SQLiteStore) -> list[tuple[object, ...]]:
    conn = store.db.conn
    arts = conn.execute(
        "SELECT id, url, canonical_url, source, title, guid, content_hash FROM articles ORDER BY id"
    ).fetchall()
    srcs = conn.execute(
        "SELECT article_id, source, url, canonical_url FROM article_sources ORDER BY 1, 2"
    ).fetchall()
    ms = conn.execute("SELECT article_id, rule, muted FROM matches ORDER BY 1, 2").fetchall()
    als = conn.execute(
        "SELECT article_id, channel, rules, status, also_reported_by FROM alerts ORDER BY 1, 2"
    ).fetchall()
    return [tuple(arts), tuple(srcs), tuple(ms), tuple(als)]


def _items() -> list:  # type: ignore[type-arg]
    a1 = article(
        "https://n.example/1", guid="g1", title="One", text="DeepSeek one and more words. " * 20
    )
    g2 = "tag:n.example,2026:2"  # a GUID unique across feeds (a short one is feed-local)
    a2 = article("https://n.example/2?utm_source=x", guid=g2, title="Two", text="Llama two")
    dup_url = article("https://n.example/1", "feed-b", guid="other", title="X", text="Y")
    dup_guid = article("https://n.example/3", "feed-b", guid=g2, title="Z", text="W")
    dup_text = article(
        "https://n.example/4",
        "feed-c",
        guid="",
        title="One",
        text="DeepSeek one and more words. " * 20,
    )
    a5 = article("https://n.example/5", guid="", title="Five", text="capex five")
    return [
        (a1, [match(), match("llama4", "normal")], {"ops": ["deepseek", "llama4"]}, ()),
        (a2, [match("llama4")], {"ops": ["llama4"], "mail": ["llama4"]}, ["llama4"]),
        (dup_url, [match()], {"ops": ["deepseek"]}, ()),
        (dup_guid, [], {}, ()),
        (dup_text, [match()], {"ops": ["deepseek"]}, ()),
        (a5, [], {"ops": []}, ()),
    ]


def test_record_articles_equals_one_by_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with open_store(tmp_path / "one.db") as one, open_store(tmp_path / "batch.db") as batch:
        singles = [one.record_article(a, m, al, T0, muted_rules=mu) for a, m, al, mu in _items()]
        outs = batch.record_articles(_items(), T0)
        assert [(o.article_id, o.created, len(o.alert_ids)) for o in outs] == [
            (o.article_id, o.created, len(o.alert_ids)) for o in singles
        ]
        assert [o.created for o in outs] == [True, True, False, False, False, True]
        assert _state(one) == _state(batch)
        assert batch.get_alert(outs[1].alert_ids[0]).status == "muted"


def test_record_articles_is_all_or_nothing(store: SQLiteStore) -> None:
    store.db.conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON alerts WHEN new.channel = 'bad'"
        " BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    good = (article("https://n.example/ok"), [match()], {"ops": ["deepseek"]}, ())
    bad = (article("https://n.example/bad"), [match()], {"bad": ["deepseek"]}, ())
    with pytest.raises(StorageError):
        store.record_articles([good, bad], T0)
    assert store.counts().articles == 0
    assert store.record_articles([], T0) == []


def test_known_articles_and_add_article_sources(store: SQLiteStore) -> None:
    a = store.record_article(article("https://k.example/a", guid="G"), [], {"ops": ["r"]}, T0)
    store.record_article(article("https://k.example/mirror", "feed-b", guid=""), [], {}, at(1))
    keys = [
        ("https://k.example/a", None),
        ("https://other.example/", "G"),
        ("https://other.example/", ""),
        ("", None),
        ("https://k.example/mirror", None),
    ]
    assert store.known_articles(keys) == [store.known_article(c, g) for c, g in keys]
    assert store.known_articles(keys)[:3] == [a.article_id, a.article_id, None]
    store.add_article_sources([a.article_id, a.article_id], "feed-z", at(2))
    assert store.get_article(a.article_id).sources == ("feed-a", "feed-z")
    alert = store.list_alerts()[0]
    assert alert.also_reported_by == ("feed-z",)


def test_search_index_is_deferred_but_search_always_sees_everything(store: SQLiteStore) -> None:
    outs = store.record_articles(
        [
            (
                article(f"https://s.example/{i}", title=f"Title {i}", text=f"Orbital kestrel {i}"),
                [],
                {},
                (),
            )
            for i in range(5)
        ],
        T0,
    )
    conn = store.db.conn
    assert conn.execute("SELECT count(*) FROM fts_pending").fetchone()[0] == 5
    assert len(store.search("kestrel")) == 5  # search indexes what is pending first
    assert conn.execute("SELECT count(*) FROM fts_pending").fetchone()[0] == 0
    # updates and deletes of indexed and of pending rows keep the index exact
    store.record_article(article("https://s.example/p", title="Pending", text="heron"), [], {}, T0)
    pending = store.known_article("https://s.example/p")
    conn.execute("UPDATE articles SET text = 'osprey' WHERE id = ?", [pending])
    conn.execute("UPDATE articles SET text = 'falcon' WHERE id = ?", [outs[0].article_id])
    conn.execute("DELETE FROM article_sources WHERE article_id = ?", [outs[1].article_id])
    conn.execute("DELETE FROM articles WHERE id = ?", [outs[1].article_id])
    assert store.index_pending() == 1
    assert [r.id for r in store.search("osprey")] == [pending]
    assert store.search("heron") == []
    assert [r.id for r in store.search("falcon")] == [outs[0].article_id]
    assert len(store.search("kestrel")) == 3
    conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
    assert store.index_pending() == 0
