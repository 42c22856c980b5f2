"""``SQLiteStore.transaction``: several write calls committed together or undone together;
nested, a savepoint that fails alone."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from storage import SQLiteStore, StorageError, TransactionAborted
from storage.errors import DatabaseUnavailableError
from storage.models import FetchLogEntry, SourceUpdate
from storage.sqlite import open_store
from tests.storage.conftest import T0, article, at


def _urls(store: SQLiteStore) -> list[str]:
    return [r[0] for r in store.db.conn.execute("SELECT url FROM articles ORDER BY id")]


def _entry(source: str = "feed-a") -> FetchLogEntry:
    return FetchLogEntry(source, "https://a.example/feed.xml", T0, "ok", 200, None, 5, 1, 1)


def test_writes_inside_are_committed_together(store: SQLiteStore) -> None:
    with store.transaction():
        store.record_articles([(article("https://n.example/1"), [], {}, ())], at(0))
        store.record_poll(_entry(), SourceUpdate(etag='"v1"'))
        # another connection does not see them before the commit
        other = sqlite3.connect(store.path)
        try:
            assert other.execute("SELECT count(*) FROM articles").fetchone() == (0,)
        finally:
            other.close()
    with open_store(store.path) as other:
        assert _urls(other) == ["https://n.example/1"]
        state = other.get_source("feed-a")
        assert state is not None and state.etag == '"v1"'


def test_an_exception_undoes_every_write_of_the_block(store: SQLiteStore) -> None:
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.record_articles([(article("https://n.example/1"), [], {}, ())], at(0))
        store.record_poll(_entry(), SourceUpdate(etag='"v1"'))
        raise RuntimeError("boom")
    assert _urls(store) == []
    state = store.get_source("feed-a")
    assert state is not None and state.etag is None
    assert store.fetch_log("feed-a") == []
    # and the store works as before
    store.record_articles([(article("https://n.example/2"), [], {}, ())], at(1))
    assert _urls(store) == ["https://n.example/2"]


def test_a_nested_block_that_fails_is_undone_alone(store: SQLiteStore) -> None:
    with store.transaction():
        store.record_articles([(article("https://n.example/1"), [], {}, ())], at(0))
        with pytest.raises(RuntimeError), store.transaction():
            store.record_articles([(article("https://n.example/2"), [], {}, ())], at(0))
            raise RuntimeError("this source only")
        with store.transaction():
            store.record_articles([(article("https://n.example/3"), [], {}, ())], at(0))
    assert _urls(store) == ["https://n.example/1", "https://n.example/3"]
    # the search queue follows: only the kept articles are indexed
    assert store.index_pending() == 2


def test_a_transaction_that_cannot_begin_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with open_store(path) as holder, open_store(path, busy_timeout_s=0.05) as store:
        holder.db.conn.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DatabaseUnavailableError), store.transaction():
                pytest.fail("the block must not run without the write lock")
        finally:
            holder.db.conn.execute("ROLLBACK")
        with store.transaction():  # the lock is free again
            store.record_articles([(article("https://n.example/1"), [], {}, ())], at(0))
        assert _urls(store) == ["https://n.example/1"]


def test_a_closed_store_refuses(tmp_path: Path) -> None:
    store = open_store(tmp_path / "c.db")
    store.close()
    with pytest.raises(StorageError, match="closed"), store.transaction():
        pass


def _nearly_full(store: SQLiteStore, spare_pages: int = 40) -> None:
    """A disk with room for a few small rows: SQLite then fails with SQLITE_FULL and rolls
    back the whole transaction by itself."""
    pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
    store.db.conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")


def test_a_write_method_inside_a_block_stays_all_or_nothing(store: SQLiteStore) -> None:
    good = article("https://n.example/1")
    bad = dataclasses.replace(article("https://n.example/2"), title=None, content_hash="h")
    with store.transaction():
        with pytest.raises(StorageError):
            store.record_articles([(good, [], {}, ()), (bad, [], {}, ())], at(0))
        # a caller that goes on with its bookkeeping after the error
        store.record_poll(_entry(), SourceUpdate(etag='"v1"'))
    assert _urls(store) == []  # not the first half of the failed batch
    state = store.get_source("feed-a")
    assert state is not None and state.etag == '"v1"'


def test_an_error_that_makes_sqlite_roll_back_everything_aborts_every_block(
    store: SQLiteStore,
) -> None:
    store.record_articles([(article("https://n.example/0"), [], {}, ())], at(0))
    _nearly_full(store)
    big = article("https://n.example/big", text="a long text " * 300_000)
    with pytest.raises(TransactionAborted), store.transaction():
        store.record_articles([(article("https://n.example/1"), [], {}, ())], at(1))
        with pytest.raises(TransactionAborted), store.transaction():
            store.record_articles([(big, [], {}, ())], at(1))  # disk full
        # the outer block cannot go on either: no write may start a transaction of its own
        with pytest.raises(TransactionAborted):
            store.record_articles([(article("https://n.example/2"), [], {}, ())], at(1))
        with pytest.raises(TransactionAborted), store.transaction():
            pass
    assert _urls(store) == ["https://n.example/0"]  # nothing of the block
    store.db.conn.execute("PRAGMA max_page_count = 1073741823")  # room again: usable
    with store.transaction():
        store.record_articles([(article("https://n.example/3"), [], {}, ())], at(2))
    assert _urls(store) == ["https://n.example/0", "https://n.example/3"]


def test_three_levels_each_fail_alone(store: SQLiteStore) -> None:
    with store.transaction():
        store.record_articles([(article("https://n.example/1"), [], {}, ())], at(0))
        with store.transaction():
            store.record_articles([(article("https://n.example/2"), [], {}, ())], at(0))
            with pytest.raises(RuntimeError), store.transaction():
                store.record_articles([(article("https://n.example/3"), [], {}, ())], at(0))
                raise RuntimeError("innermost only")
        with pytest.raises(RuntimeError), store.transaction():
            store.record_articles([(article("https://n.example/4"), [], {}, ())], at(0))
            with store.transaction():
                store.record_articles([(article("https://n.example/5"), [], {}, ())], at(0))
            raise RuntimeError("the middle one, with what it kept inside")
    assert _urls(store) == ["https://n.example/1", "https://n.example/2"]


@pytest.mark.parametrize("outer_atomic", [True, False])
def test_an_atomic_block_keeps_its_calls_all_or_nothing_inside_any_block(
    store: SQLiteStore, outer_atomic: bool
) -> None:
    """A block with atomic_calls=False lets its write calls join without savepoints (its
    caller lets it fail as a whole); an atomic block nested in it still has them (review 8)."""
    good = article("https://n.example/1")
    bad = dataclasses.replace(article("https://n.example/2"), title=None, content_hash="h")
    with store.transaction(atomic_calls=outer_atomic), store.transaction():
        with pytest.raises(StorageError):
            store.record_articles([(good, [], {}, ()), (bad, [], {}, ())], at(0))
        store.record_articles([(article("https://n.example/3"), [], {}, ())], at(0))
    assert _urls(store) == ["https://n.example/3"]
