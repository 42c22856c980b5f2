"""The search queue after migration 6 (no insert trigger): articles queued by an older
version and articles stored now are all found by search, each exactly once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from storage import open_store
from storage.migrations import MIGRATIONS, SEARCH_INDEX_BUFFER_BYTES, migrate
from tests.storage.conftest import article, at, body


def test_queued_before_and_after_migration_6_are_searchable(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    db = Database(sqlite3.connect(path, isolation_level=None))
    migrate(db, MIGRATIONS[:5])
    db.execute(  # stored by a version with the insert trigger, not indexed yet
        "INSERT INTO articles (id, url, canonical_url, source, title, text, first_seen_at)"
        " VALUES (1, 'https://v5.example/a', 'https://v5.example/a', 'f', 'Quasar chips',"
        " 'quasar chips text', '2026-03-01T12:00:00+00:00')"
    )
    assert db.execute("SELECT id FROM fts_pending").fetchall() == [(1,)]
    db.conn.close()
    with open_store(path) as store:
        new = article("https://v6.example/b", title="Quasar lab", text=body("quasar") + " quasar")
        store.record_article(new, [], {}, at(0))
        store.record_articles(
            [(article("https://v6.example/c", text=body("c")), [], {}, ())], at(1)
        )
        hits = sorted(a.url for a in store.search("quasar"))
        assert hits == ["https://v5.example/a", "https://v6.example/b"]
        assert store.index_pending() == 0  # search indexed everything queued
        assert [a.url for a in store.search("v6.example/c")] == []  # URLs are not indexed
        assert len(store.search(body("c").split()[2])) == 1


def test_articles_inserted_by_an_older_process_are_indexed(tmp_path: Path) -> None:
    """An older version still running after migration 6 inserts without queuing (no trigger
    any more): the sweep above ``fts_state.swept`` still indexes its articles."""
    path = tmp_path / "mixed.db"
    with open_store(path) as store:
        store.record_article(article("https://new.example/1", title="Nebula one"), [], {}, at(0))
        assert len(store.search("Nebula")) == 1  # indexed, swept up to its id
        old = sqlite3.connect(path, isolation_level=None)  # what the old version does
        old.execute(
            "INSERT INTO articles (url, canonical_url, source, title, text, first_seen_at)"
            " VALUES ('https://old.example/2', 'https://old.example/2', 'f', 'Nebula two',"
            " 'from the old daemon', '2026-03-01T12:00:00+00:00')"
        )
        old.close()
        store.record_article(article("https://new.example/3", title="Nebula three"), [], {}, at(1))
        titles = sorted(a.title for a in store.search("Nebula"))
        assert titles == ["Nebula one", "Nebula three", "Nebula two"]
        assert store.index_pending() == 0
        assert len(store.search("Nebula")) == 3  # each indexed once


def test_an_unqueued_article_revised_or_deleted_before_the_sweep_keeps_the_index_sound(
    tmp_path: Path,
) -> None:
    """Review 4: an article an older process inserted without queuing, then revised (or
    deleted) before any sweep, made the update trigger delete an index entry that did not
    exist: 'database disk image is malformed'. Triggers now follow the index itself."""
    from storage.models import ArticleRevision

    path = tmp_path / "w.db"
    with open_store(path) as store:
        old = sqlite3.connect(path, isolation_level=None)  # an older version's insert
        for n in (1, 2):
            old.execute(
                "INSERT INTO articles (url, canonical_url, source, title, text, first_seen_at)"
                f" VALUES ('https://x.example/{n}', 'https://x.example/{n}', 's', 'Old title',"
                " 'kestrel heron', '2026-11-28T00:00:00+00:00')"
            )
        old.close()
        ids = [r[0] for r in store.db.conn.execute("SELECT id FROM articles ORDER BY id")]
        revision = ArticleRevision(ids[0], "New title", "osprey falcon text", "h2")
        store.record_revision(revision, [], {}, at(0))  # raised StorageError before
        store.db.conn.execute("DELETE FROM articles WHERE id = ?", [ids[1]])
        store.db.conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
        assert [a.id for a in store.search("osprey")] == [ids[0]]
        assert store.search("kestrel") == []  # neither the old text nor the deleted one
        store.db.conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")


def test_search_works_on_the_index_as_is_when_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    """Catching up the index needs the write lock; without it within the busy timeout a
    search still answers from what is indexed (and catches up next time)."""
    path = tmp_path / "w.db"
    with open_store(path, busy_timeout_s=0.2) as store:
        store.record_article(article("https://x.example/1", title="Quokka one"), [], {}, at(0))
        assert len(store.search("Quokka")) == 1  # indexed
        store.record_article(article("https://x.example/2", title="Quokka two"), [], {}, at(1))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # e.g. a long write by another process
        try:
            assert [a.title for a in store.search("Quokka")] == ["Quokka one"]
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert len(store.search("Quokka")) == 2


def test_migration_8_gives_the_index_a_larger_buffer_and_keeps_what_was_indexed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v7.db"
    db = Database(sqlite3.connect(path, isolation_level=None))
    migrate(db, MIGRATIONS[:7])
    db.conn.close()
    with open_store(path) as store:  # indexed under migration 7's settings
        store.record_articles(
            [
                (article(f"https://v7.example/{i}", text=body(f"n{i}")), [], {}, ())
                for i in range(3)
            ],
            at(0),
        )
        assert store.index_pending() == 3
    with open_store(path) as store:
        setting = store.db.execute(
            "SELECT v FROM articles_fts_config WHERE k = 'hashsize'"
        ).fetchone()
        assert setting == (SEARCH_INDEX_BUFFER_BYTES,)
        store.record_articles(
            [(article("https://v8.example/x", text=body("x")), [], {}, ())], at(1)
        )
        assert store.index_pending() == 1
        for word in ("n0", "n2", "x"):
            assert len(store.search(body(word).split()[2])) == 1
        # FTS5's own check: raises if the index disagrees with the articles it indexes
        store.db.execute(
            "INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)"
        )
