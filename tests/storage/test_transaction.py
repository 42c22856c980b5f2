"""``SQLiteStore.transaction``: several write calls committed together or undone together;
nested, a savepoint that fails alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import SQLiteStore, StorageError
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
