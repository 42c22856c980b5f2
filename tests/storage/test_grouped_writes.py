"""Grouped commits (hold_writes / flush_writes / release_writes): held writes are invisible to
other connections until flushed, each write stays atomic, and nothing held is lost on close."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import SQLiteStore, open_store
from tests.storage.conftest import article, at, match


def _count(path: Path) -> int:
    with sqlite3.connect(path) as other:  # another connection, as another process would be
        return int(other.execute("SELECT count(*) FROM articles").fetchone()[0])


def test_held_writes_commit_on_flush(store: SQLiteStore) -> None:
    store.hold_writes()
    store.record_article(article("https://a.example/1"), [match()], {"ops": ["deepseek"]}, at(0))
    assert store.known_article(article("https://a.example/1").canonical_url) is not None
    assert _count(store.path) == 0  # not committed yet
    store.flush_writes()
    assert _count(store.path) == 1
    store.record_article(article("https://a.example/2"), [], {}, at(1))
    store.release_writes()
    assert _count(store.path) == 2
    store.record_article(article("https://a.example/3"), [], {}, at(2))
    assert _count(store.path) == 3  # released: one transaction per write again


def test_a_failed_write_rolls_back_alone(store: SQLiteStore) -> None:
    store.hold_writes()
    store.record_article(article("https://a.example/1"), [], {}, at(0))
    bad = article("https://a.example/2")
    with pytest.raises(Exception):  # noqa: B017  (any storage error)
        store.record_articles([(bad, [], {}, ()), (None, [], {}, ())], at(1))  # type: ignore[list-item]
    store.release_writes()
    urls = [a.url for a in store.articles_between(at(-1), at(5))]
    assert urls == ["https://a.example/1"]  # the batch is all or nothing, the earlier write kept


def test_close_commits_held_writes(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    store = open_store(path)
    store.hold_writes()
    store.record_article(article(), [], {}, at(0))
    store.close()
    assert _count(path) == 1
