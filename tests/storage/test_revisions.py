"""Article revisions: page validators, revalidation without change, and a changed article that
gains a rule (one new alert for the new rule only; search follows the new text)."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from storage import ArticleRevision, NotFoundError, PageCheck, SQLiteStore, content_hash
from storage.migrations import MIGRATIONS, migrate
from tests.storage.conftest import article, at, body, match


def _stored(store: SQLiteStore) -> int:
    a = dataclasses.replace(
        article(),
        item_updated=at(-5),
        page_etag='"v1"',
        page_last_modified="Sun, 01 Mar 2026 11:00:00 GMT",
    )
    out = store.record_article(a, [match("deepseek")], {"ops": ["deepseek"]}, at(0))
    return out.article_id


def test_new_article_keeps_its_page_validators(store: SQLiteStore) -> None:
    aid = _stored(store)
    state = store.page_states([aid, 999])
    assert list(state) == [aid]
    s = state[aid]
    assert (s.page_etag, s.page_last_modified) == ('"v1"', "Sun, 01 Mar 2026 11:00:00 GMT")
    assert s.item_updated == at(-5) and s.first_seen_at == at(0)
    assert s.checked_at is None and s.revision == 0 and s.extraction == "fulltext"
    assert s.content_hash == store.get_article(aid).content_hash


def test_mark_checked_moves_validators_but_not_text(store: SQLiteStore) -> None:
    aid = _stored(store)
    before = store.get_article(aid)
    store.mark_pages_checked([PageCheck(aid, item_updated=at(30), page_etag='"v2"')], at(31))
    s = store.page_states([aid])[aid]
    assert s.checked_at == at(31) and s.item_updated == at(30)
    assert s.page_etag == '"v2"'
    assert s.page_last_modified == "Sun, 01 Mar 2026 11:00:00 GMT"  # None left it unchanged
    after = store.get_article(aid)
    assert (after.text, after.revision) == (before.text, 0)


def test_revision_alerts_only_for_rules_new_to_the_article(store: SQLiteStore) -> None:
    aid = _stored(store)
    [first] = store.list_alerts()
    text = body("updated") + " Meta raises AI capex to $65 billion."
    rev = ArticleRevision(
        aid, "DeepSeek ships V4 (updated)", text, content_hash("x", text), page_etag='"v2"'
    )
    out = store.record_revision(
        rev,
        [match("deepseek"), match("capex", amount=65e9)],
        {"ops": ["deepseek", "capex"], "mail": ["deepseek"]},
        at(60),
    )
    assert out.revision == 1 and out.new_rules == ("capex",)
    assert len(out.alert_ids) == 1  # "mail" only follows deepseek, already alerted
    new = store.get_alert(out.alert_ids[0])
    assert (new.channel, new.rules, new.revision, new.status) == ("ops", ("capex",), 1, "pending")
    assert store.get_alert(first.id).revision == 0
    stored = store.get_article(aid)
    assert stored.title.endswith("(updated)") and stored.text == text
    assert (stored.revision, stored.revised_at) == (1, at(60))
    assert {m.rule for m in store.article_matches(aid)} == {"deepseek", "capex"}
    assert store.page_states([aid])[aid].page_etag == '"v2"'
    # search follows the new text, and no longer finds words only the old text had
    assert [a.id for a in store.search("raises AI capex")] == [aid]
    assert store.search(body("https://news.example/ai/deepseek-v4").split()[3]) == []


def test_revision_of_unknown_article(store: SQLiteStore) -> None:
    with pytest.raises(NotFoundError):
        store.record_revision(ArticleRevision(42, "t", "x", "h"), [], {}, at(0))


def test_second_revision_same_channel_gets_its_own_alert(store: SQLiteStore) -> None:
    aid = _stored(store)
    for i, rule in enumerate(("capex", "llama4"), start=1):
        out = store.record_revision(
            ArticleRevision(aid, "t", f"text {i}", f"h{i}"), [match(rule)], {"ops": [rule]}, at(i)
        )
        assert out.revision == i and len(out.alert_ids) == 1
    assert sorted(a.revision for a in store.list_alerts()) == [0, 1, 2]


def test_migration_5_keeps_old_alerts_and_allows_revisions(tmp_path: Path) -> None:
    """A database at schema 4 with an alert migrates; the old alert is revision 0."""
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path, isolation_level=None))
    migrate(db, MIGRATIONS[:4])
    db.execute(
        "INSERT INTO articles (id, url, canonical_url, source, title, text, first_seen_at)"
        " VALUES (1, 'u', 'u', 's', 't', 'x', '2026-03-01T12:00:00+00:00')"
    )
    db.execute(
        "INSERT INTO alerts (id, article_id, channel, status, created_at)"
        " VALUES ('al_1', 1, 'ops', 'sent', '2026-03-01T12:00:00+00:00')"
    )
    assert migrate(db) == len(MIGRATIONS)
    db.conn.close()
    from storage import open_store

    with open_store(path) as store:
        assert store.get_alert("al_1").revision == 0
        out = store.record_revision(
            ArticleRevision(1, "t", "y", "h"), [match("capex")], {"ops": ["capex"]}, at(0)
        )
        assert out.revision == 1 and len(out.alert_ids) == 1


def test_revision_refreshes_matches_and_language(store: SQLiteStore) -> None:
    aid = _stored(store)  # matched deepseek
    store.record_revision(ArticleRevision(aid, "t", "x", "h", language="ar"), [], {}, at(1))
    assert store.article_matches(aid) == []  # the new text no longer supports the rule
    assert store.get_article(aid).language == "ar"
    again = match("capex", amount=7e9)
    store.record_revision(ArticleRevision(aid, "t", "y", "h2"), [again], {}, at(2))
    newer = match("capex", amount=9e9)
    store.record_revision(ArticleRevision(aid, "t", "z", "h3"), [newer], {}, at(3))
    [m] = store.article_matches(aid)
    assert (m.rule, m.amount_usd, m.matched_at) == ("capex", 9e9, at(2))  # first match kept


def test_digest_lists_an_older_article_that_newly_matches(store: SQLiteStore) -> None:
    aid = _stored(store)  # first seen at(0), matched deepseek
    day1, day2, day3 = at(24 * 60), at(48 * 60), at(72 * 60)
    both = [match("deepseek"), match("capex")]
    store.record_revision(ArticleRevision(aid, "t", body("u"), "h"), both, {}, day1)
    [entry] = store.digest_entries(day1, day2)
    assert entry.article.id == aid and entry.article.revision == 1
    assert {m.rule for m in entry.matches} == {"deepseek", "capex"}
    # a later revision that matches nothing new is not news for that day's digest
    store.record_revision(ArticleRevision(aid, "t", body("v"), "h4"), both, {}, day2)
    assert store.digest_entries(day2, day3) == []


def test_same_story_under_a_second_url_is_known_by_it(store: SQLiteStore) -> None:
    first = store.record_article(article("https://a.example/x"), [], {}, at(0))
    dup = dataclasses.replace(
        article("https://a.example/y"), text=article("https://a.example/x").text
    )
    out = store.record_article(dup, [], {}, at(1))
    assert not out.created and out.article_id == first.article_id
    assert store.known_articles([(dup.canonical_url, None)]) == [first.article_id]


def test_recent_articles_are_the_sources_own_since_a_time_newest_first(store: SQLiteStore) -> None:
    ids = {}
    for n, (url, source, minute) in enumerate(
        [
            ("https://a.example/1", "feed-a", 0),
            ("https://a.example/2", "feed-a", 30),
            ("https://b.example/3", "feed-b", 40),
            ("https://a.example/4", "feed-a", 90),
        ]
    ):
        out = store.record_articles([(article(url, source, title=f"T{n}"), [], {}, ())], at(minute))
        ids[url] = out[0].article_id
    # feed-b also carries article 2: it stays feed-a's
    store.add_article_source(ids["https://a.example/2"], "feed-b", at(50))
    assert store.recent_articles("feed-a", at(20)) == [
        ids["https://a.example/4"],
        ids["https://a.example/2"],
    ]
    assert store.recent_articles("feed-b", at(0)) == [ids["https://b.example/3"]]
    assert store.recent_articles("feed-a", at(0), limit=1) == [ids["https://a.example/4"]]
    assert store.recent_articles("nobody", at(0)) == []
