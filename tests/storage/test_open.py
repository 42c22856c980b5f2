"""Opening the database: pragmas, migrations, errors, threads and concurrent processes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from storage import DatabaseUnavailableError, MigrationError, SourceDef, StorageError, open_store
from storage.migrations import SCHEMA_VERSION, migrate, schema_version
from tests.storage.conftest import T0, article, at, match

REPO = Path(__file__).resolve().parents[2]


def test_open_creates_parents_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "watcher.db"
    with open_store(path) as store:
        conn = store.db.conn
        assert path.is_file()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000
        assert schema_version(conn) == SCHEMA_VERSION
        tables = set(store.db.table_names())
        assert {"sources", "fetch_log", "articles", "articles_fts", "article_sources"} <= tables
        assert {"matches", "alerts", "mutes"} <= tables


def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with open_store(path) as store:
        store.sync_sources([SourceDef("feed-a", "https://a.example/", "feed")], T0)
        out = store.record_article(article(), [match()], {"ops": ["deepseek"]}, T0)
        schema = store.db.schema
    for _ in range(2):
        with open_store(str(path)) as store:
            assert store.db.schema == schema
            assert schema_version(store.db.conn) == SCHEMA_VERSION
            assert store.get_article(out.article_id).title == "DeepSeek ships V4"
            assert store.search("deepseek")[0].id == out.article_id


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    open_store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(MigrationError, match="newer"):
        open_store(path)


def test_failed_migration_is_rolled_back(tmp_path: Path) -> None:
    db = Database(sqlite3.connect(tmp_path / "m.db", isolation_level=None))

    def first(d: Database) -> None:
        d.execute("CREATE TABLE one (x INTEGER)")

    def broken(d: Database) -> None:
        d.execute("CREATE TABLE two (x INTEGER)")
        d.execute("INSERT INTO nowhere VALUES (1)")

    with pytest.raises(MigrationError, match="broken"):
        migrate(db, [first, broken])
    assert schema_version(db.conn) == 1
    assert "one" in db.table_names() and "two" not in db.table_names()
    assert migrate(db, [first]) == 1  # nothing pending: no-op


def test_parent_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatabaseUnavailableError, match="directory"):
        open_store(blocker / "watcher.db")


def test_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailableError):
        open_store(tmp_path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not an sqlite database, just text " * 100)
    with pytest.raises(DatabaseUnavailableError, match="not a database"):
        open_store(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(DatabaseUnavailableError):
            open_store(locked / "watcher.db")
    finally:
        locked.chmod(0o700)


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = open_store(tmp_path / "w.db")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        store.counts()


def test_lock_held_too_long_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with open_store(path, busy_timeout_s=0.05) as store:
        store.sync_sources([SourceDef("feed-a", "https://a.example/", "feed")], T0)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DatabaseUnavailableError, match="locked"):
                store.record_article(article(), [], {}, T0)
            assert store.counts().sources == 1  # readers are not blocked by a writer (WAL)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert store.record_article(article(), [], {}, T0).created


def test_writer_waits_for_a_short_lock(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with open_store(path) as store:
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        locked = threading.Event()
        result: list[bool] = []

        def write() -> None:
            locked.set()
            result.append(store.record_article(article(), [], {}, T0).created)

        worker = threading.Thread(target=write)
        worker.start()
        locked.wait()
        threading.Event().wait(0.2)
        other.execute("COMMIT")
        worker.join()
        other.close()
        assert result == [True]


def test_one_store_shared_by_threads(tmp_path: Path) -> None:
    with open_store(tmp_path / "w.db") as store:
        store.sync_sources([SourceDef("feed-a", "https://a.example/", "feed")], T0)
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(15):
                    store.record_article(
                        article(f"https://t.example/{n}/{i}"),
                        [match()],
                        {"ops": ["deepseek"]},
                        at(i),
                    )
                    store.due_alerts(at(100))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        counts = store.counts()
        assert (counts.articles, counts.alerts["pending"]) == (60, 60)


_CLI_SCRIPT = """
import sys
from datetime import UTC, datetime, timedelta
from storage import open_store, NewArticle, canonical_url
path, n = sys.argv[1], int(sys.argv[2])
t0 = datetime(2026, 3, 1, tzinfo=UTC)
with open_store(path) as store:
    for i in range(n):
        url = f"https://cli.example/{i}"
        a = NewArticle(url=url, canonical_url=canonical_url(url), source="cli", title=f"cli {i}",
                       text=f"cli text {i}")
        store.record_article(a, [], {"ops": ["r"]}, t0 + timedelta(seconds=i))
        store.search("cli")
        store.counts()
    shared = "https://shared.example/story"
    a = NewArticle(url=shared, canonical_url=shared, source="cli", title="shared", text="s")
    store.record_article(a, [], {"ops": ["r"]}, t0)
print("ok")
"""


def test_two_processes_write_and_read_concurrently(tmp_path: Path) -> None:
    """A daemon (this process) and a CLI command (a subprocess) on one database file."""
    path = tmp_path / "shared.db"
    n = 40
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI_SCRIPT, str(path), str(n)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with open_store(path) as store:
        written = 0
        # keep writing while the other process runs, so that the two really overlap
        while written < n or (proc.poll() is None and written < 5000):
            store.record_article(
                article(f"https://daemon.example/{written}"), [], {"ops": ["r"]}, at(written)
            )
            store.due_alerts(at(10_000))
            store.list_alerts(limit=5)
            written += 1
        shared = article("https://shared.example/story", source="daemon")
        store.record_article(shared, [], {"ops": ["r"]}, T0)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
        counts = store.counts()
        assert counts.articles == written + n + 1
        assert counts.alerts["pending"] == written + n + 1  # the shared story: one alert only
        story = store.known_article("https://shared.example/story")
        assert story is not None
        assert set(store.get_article(story).sources) == {"cli", "daemon"}


def _open_new(path: str, go: Any) -> None:
    go.wait()
    with open_store(path) as store:
        store.sync_sources([SourceDef("a", "https://a.example/f", "feed")], T0)


def test_processes_opening_one_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    """A daemon starting while `watcher poll` or `watcher init` runs: each opens the same new
    file. Switching it to WAL can fail at once with 'database is locked' (SQLite does not
    always wait for that); open_store tries again within its busy timeout (review 13 saw 27
    failures in 120 such openings on a loaded machine)."""
    ctx = multiprocessing.get_context("fork")
    for trial in range(4):
        path = str(tmp_path / f"new{trial}.db")
        go = ctx.Event()
        procs = [ctx.Process(target=_open_new, args=(path, go)) for _ in range(3)]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join(30)
        assert [p.exitcode for p in procs] == [0, 0, 0]
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            conn.close()


def test_the_package_exports_resolve_on_first_use() -> None:
    """``storage`` imports its submodules when a name is first asked for (a pool worker needs
    only ``storage.urls``): every exported name resolves, an unknown one is an AttributeError."""
    import storage

    for name in storage.__all__:
        assert getattr(storage, name) is not None, name
    assert storage.open_store is open_store
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        storage.nope  # noqa: B018
