"""Articles: recording, deduplication, sources, matches, time windows, digest and search."""

from __future__ import annotations

import pytest

from storage import NotFoundError, SQLiteStore, StorageError, content_hash
from storage.urls import guid_is_global
from tests.storage.conftest import T0, article, at, body, match


def test_record_article_stores_everything(store: SQLiteStore) -> None:
    a = article(guid="g-1")
    out = store.record_article(
        a, [match("deepseek", amount=2.5e9), match("llama4", "normal")], {"ops": ["deepseek"]}, T0
    )
    assert out.created and len(out.alert_ids) == 1
    rec = store.get_article(out.article_id)
    assert (rec.url, rec.canonical_url, rec.title, rec.guid) == (
        a.url,
        a.canonical_url,
        a.title,
        "g-1",
    )
    assert rec.first_seen_at == T0 and rec.first_seen_at.tzinfo is not None
    assert rec.sources == ("feed-a",)
    assert rec.content_hash == content_hash(a.title, a.text)
    ms = store.article_matches(out.article_id)
    assert [m.rule for m in ms] == ["deepseek", "llama4"]
    first = ms[0]
    assert first.amount_usd == 2.5e9 and first.tags == ("china", "models")
    assert first.evidence[0].text == "DeepSeek" and first.details == (("unit", "bn"),)
    assert first.matched_at == T0 and not first.muted
    alert = store.get_alert(out.alert_ids[0])
    assert (alert.channel, alert.rules, alert.status, alert.attempts) == (
        "ops",
        ("deepseek",),
        "pending",
        0,
    )


def test_duplicate_by_url_with_tracking_parameters(store: SQLiteStore) -> None:
    first = store.record_article(
        article("https://news.example/a"), [match()], {"ops": ["deepseek"]}, T0
    )
    again = article(
        "https://NEWS.example/a?utm_source=rss&utm_medium=feed#x", "feed-b", text="other"
    )
    second = store.record_article(again, [match()], {"ops": ["deepseek"]}, at(5))
    assert second.article_id == first.article_id
    assert not second.created and second.alert_ids == ()
    assert store.counts().articles == 1
    assert store.get_article(first.article_id).sources == ("feed-a", "feed-b")
    assert store.get_alert(first.alert_ids[0]).also_reported_by == ("feed-b",)
    assert len(store.list_alerts()) == 1


def test_duplicate_by_guid_only_when_non_empty(store: SQLiteStore) -> None:
    first = store.record_article(article("https://a.example/1", guid="urn:x:1"), [], {}, T0)
    dup = store.record_article(
        article("https://mirror.example/1", "feed-b", guid="urn:x:1"), [], {}, T0
    )
    assert dup.article_id == first.article_id and not dup.created
    e1 = store.record_article(article("https://a.example/2", guid=""), [], {}, T0)
    e2 = store.record_article(article("https://a.example/3", guid=""), [], {}, T0)
    assert e1.created and e2.created and e1.article_id != e2.article_id


def test_duplicate_by_content_hash(store: SQLiteStore) -> None:
    text = body("syndicated")
    first = store.record_article(
        article("https://wire.example/s", text=text), [match()], {"ops": ["deepseek"]}, T0
    )
    copy = article("https://paper.example/other-slug", "feed-b", text="  " + text.upper() + "\n")
    second = store.record_article(copy, [match()], {"ops": ["deepseek"]}, at(1))
    assert second.article_id == first.article_id and not second.created
    assert store.get_alert(first.alert_ids[0]).also_reported_by == ("feed-b",)


def test_short_texts_are_not_deduplicated_by_content(store: SQLiteStore) -> None:
    a = store.record_article(article("https://x.example/1", text="Subscribe to read."), [], {}, T0)
    b = store.record_article(article("https://x.example/2", text="Subscribe to read."), [], {}, T0)
    assert a.created and b.created and a.article_id != b.article_id


def test_same_story_from_two_sources_one_alert_per_channel(store: SQLiteStore) -> None:
    channels = {"ops": ["deepseek"], "mail": ["deepseek", "llama4"], "quiet": []}
    first = store.record_article(article(source="feed-a"), [match(), match("llama4")], channels, T0)
    assert len(first.alert_ids) == 2  # a channel without rules gets nothing
    second = store.record_article(article(source="feed-b"), [match()], channels, at(3))
    third = store.record_article(article(source="feed-b"), [match()], channels, at(4))
    assert not second.created and not third.created
    alerts = store.list_alerts()
    assert sorted(a.channel for a in alerts) == ["mail", "ops"]
    assert all(a.also_reported_by == ("feed-b",) for a in alerts)
    assert store.get_article(first.article_id).sources == ("feed-a", "feed-b")
    assert store.get_alert(first.alert_ids[1]).rules == ("deepseek", "llama4")


def test_known_article_and_add_article_source(store: SQLiteStore) -> None:
    guid = "tag:k.example,2026:a"  # unique across feeds (see test_feed_local_guids)
    out = store.record_article(article("https://k.example/a", guid=guid), [], {"ops": ["r"]}, T0)
    assert store.known_article("https://k.example/a") == out.article_id
    assert store.known_article("https://other.example/", guid) == out.article_id
    assert store.known_article("https://other.example/", "") is None
    assert store.known_article("https://other.example/") is None
    store.add_article_source(out.article_id, "feed-b", at(1))
    store.add_article_source(out.article_id, "feed-b", at(2))  # idempotent
    store.add_article_source(out.article_id, "feed-a", at(3))  # the original source
    assert store.get_article(out.article_id).sources == ("feed-a", "feed-b")
    assert store.get_alert(out.alert_ids[0]).also_reported_by == ("feed-b",)
    # a duplicate's own URL is known from then on (no refetch of mirrors)
    mirror = article("https://mirror.example/copy?utm_source=x", "feed-b", guid=guid)
    assert not store.record_article(mirror, [], {}, at(4)).created
    assert store.known_article("https://mirror.example/copy") == out.article_id
    with pytest.raises(NotFoundError):
        store.add_article_source(999, "feed-b", T0)
    with pytest.raises(NotFoundError):
        store.get_article(999)
    assert store.article_matches(999) == []


def test_muted_rules(store: SQLiteStore) -> None:
    out = store.record_article(
        article(),
        [match("deepseek"), match("capex")],
        {"ops": ["deepseek"], "mail": ["deepseek", "capex"]},
        T0,
        muted_rules=["deepseek"],
    )
    by_channel = {store.get_alert(i).channel: store.get_alert(i) for i in out.alert_ids}
    assert by_channel["ops"].status == "muted"
    assert by_channel["mail"].status == "pending"
    assert {m.rule: m.muted for m in store.article_matches(out.article_id)} == {
        "deepseek": True,
        "capex": False,
    }
    assert [a.channel for a in store.due_alerts(at(1))] == ["mail"]


def test_record_article_is_one_transaction(store: SQLiteStore) -> None:
    bad = article("https://tx.example/a")
    # make the last statement of record_article (the alert insert) fail
    store.db.execute(
        "CREATE TRIGGER no_alerts BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    with pytest.raises(StorageError, match="boom"):
        store.record_article(bad, [match()], {"ops": ["deepseek"]}, T0)
    counts = store.counts()
    assert (counts.articles, counts.matches) == (0, 0)
    assert store.search("DeepSeek") == []  # the FTS index was rolled back too
    store.db.execute("DROP TRIGGER no_alerts")
    assert store.record_article(bad, [match()], {"ops": ["deepseek"]}, T0).created
    assert store.counts().alerts["pending"] == 1


def test_articles_between_is_half_open_and_oldest_first(store: SQLiteStore) -> None:
    ids = [
        store.record_article(article(f"https://t.example/{i}"), [], {}, at(i * 10)).article_id
        for i in range(4)
    ]
    got = store.articles_between(at(10), at(30))
    assert [a.id for a in got] == ids[1:3]
    assert store.articles_between(at(100), at(200)) == []


def test_digest_entries(store: SQLiteStore) -> None:
    plain = store.record_article(article("https://d.example/plain"), [], {}, at(1))
    old = store.record_article(article("https://d.example/old"), [match()], {}, at(2))
    new = store.record_article(
        article("https://d.example/new"), [match(), match("capex")], {}, at(3)
    )
    muted = store.record_article(
        article("https://d.example/muted"), [match("spam")], {}, at(4), muted_rules=["spam"]
    )
    store.add_article_source(new.article_id, "feed-b", at(5))
    entries = store.digest_entries(T0, at(60))
    assert [e.article.id for e in entries] == [new.article_id, old.article_id]
    assert entries[0].article.sources == ("feed-a", "feed-b")
    assert [m.rule for m in entries[0].matches] == ["deepseek", "capex"]
    assert plain.article_id not in [e.article.id for e in entries]
    with_muted = store.digest_entries(T0, at(60), include_muted=True)
    assert with_muted[0].article.id == muted.article_id and with_muted[0].matches[0].muted
    assert store.digest_entries(at(3), at(4))[0].article.id == new.article_id


def test_search(store: SQLiteStore) -> None:
    en = store.record_article(
        article(
            "https://s.example/en",
            title="Meta bets on Llama 4",
            text="Capex of $65bn for AI data centres " * 8,
        ),
        [],
        {},
        T0,
    )
    ar = store.record_article(
        article(
            "https://s.example/ar",
            title="ديب سيك تطلق نموذجا جديدا",
            text="أعلنت شركة ديب سيك والذكاء الاصطناعي عن نموذج " * 8,
        ),
        [],
        {},
        at(1),
    )
    zh = store.record_article(
        article(
            "https://s.example/zh",
            title="深度求索发布新模型",
            text="深度求索今天发布了新的大模型。" * 10,
        ),
        [],
        {},
        at(2),
    )
    assert [a.id for a in store.search("llama")] == [en.article_id]
    assert [a.id for a in store.search("LLAMA 4")] == [en.article_id]  # "4" is short: LIKE
    assert [a.id for a in store.search("الذكاء")] == [ar.article_id]  # inside "والذكاء"
    assert [a.id for a in store.search("ديب سيك")] == [ar.article_id]
    assert [a.id for a in store.search("深度求索")] == [zh.article_id]
    assert [a.id for a in store.search('"data centres"')] == [en.article_id]
    assert {a.id for a in store.search("llama OR 深度求索")} == {en.article_id, zh.article_id}
    assert store.search("llama AND 深度求索") == []
    assert store.search("") == [] and store.search('  ""  ') == []
    for nasty in [
        '"unbalanced',
        "NOT",
        "a OR",
        "(capex",
        "capex*",
        "col:umn",
        "NEAR(a b)",
        "'; DROP TABLE articles; --",
        "%_\\",
    ]:
        store.search(nasty)  # must not raise
    assert store.counts().articles == 3
    for i in range(3):
        store.record_article(
            article(f"https://s.example/more/{i}", title=f"Llama news {i}"), [], {}, at(3)
        )
    assert len(store.search("llama", limit=2)) == 2
    assert len(store.search("ll", limit=2)) == 2  # short term: LIKE path honours the limit
    assert store.search("capex*") == []  # "*" is literal, not a prefix operator


def test_search_real_arabic_article(store: SQLiteStore, seed_article: str) -> None:
    """The shared Arabic seed article (read from ../shared/corpus, not copied)."""
    title, _, text = seed_article.strip().partition("\n")
    out = store.record_article(
        article("https://ar.example/meta-deepseek", title=title, text=text), [], {}, T0
    )
    other = store.record_article(
        article("https://en.example/x", title="Rain", text="Rain all week in Lisbon. " * 10),
        [],
        {},
        T0,
    )
    for query in ("ديبسيك", "Deepseek", "ميتا", "زوكربيرج", "ذكاء", "Llama 4", '"60 مليار"'):
        assert [a.id for a in store.search(query)] == [out.article_id], query
    assert {a.id for a in store.search("lisbon OR زوكربيرج")} == {out.article_id, other.article_id}


def test_feed_local_guids_identify_a_story_only_within_their_source(store: SQLiteStore) -> None:
    """Two feeds may both number their items: "1001" in feed-a and "1001" in feed-b are two
    stories, and neither may swallow the other (it would be lost: stored as a source of the
    first). A GUID that is a URL, a tag:/urn: URI or a UUID is unique across feeds."""
    a = store.record_article(article("https://a.example/x", "feed-a", guid="1001"), [], {}, T0)
    b = store.record_article(article("https://b.example/y", "feed-b", guid="1001"), [], {}, T0)
    assert a.created and b.created and a.article_id != b.article_id
    # the same feed listing its item again under a new link: the same story
    again = store.record_article(
        article("https://a.example/x-renamed", "feed-a", guid="1001", text=body("renamed")),
        [],
        {},
        at(1),
    )
    assert not again.created and again.article_id == a.article_id
    keys = [("https://c.example/z", "1001")]
    assert store.known_articles(keys, source="feed-a") == [a.article_id]
    assert store.known_articles(keys, source="feed-b") == [b.article_id]
    assert store.known_articles(keys, source="feed-c") == [None]
    # global GUIDs still join stories across feeds
    uuid = "urn:uuid:0b7e2f52-7d2c-4c55-9d61-3f0a1e4b9c11"
    c = store.record_article(article("https://a.example/u", "feed-a", guid=uuid), [], {}, at(2))
    d = store.record_article(article("https://b.example/v", "feed-b", guid=uuid), [], {}, at(2))
    assert c.created and not d.created and d.article_id == c.article_id
    assert store.known_articles([("https://c.example/w", uuid)], source="feed-c") == [c.article_id]


@pytest.mark.parametrize(
    ("guid", "is_global"),
    [
        ("https://news.example/2026/11/28/story", True),
        ("tag:news.example,2026:story-1", True),
        ("urn:uuid:0b7e2f52-7d2c-4c55-9d61-3f0a1e4b9c11", True),
        ("0b7e2f527d2c4c559d613f0a1e4b9c11", True),
        ("news.example-2026-11-28-deepseek-v4", True),
        ("1001", False),
        ("post-17", False),
        ("12345678901234567890123456", False),
        ("  ", False),
    ],
)
def test_guid_is_global(guid: str, is_global: bool) -> None:
    assert guid_is_global(guid) is is_global
