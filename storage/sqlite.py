"""The SQLite implementation of :class:`storage.interface.Store` (sqlite-utils 4).

One connection per store, WAL journal, 5 s busy timeout, foreign keys on. The connection is
shared between threads behind an :class:`threading.RLock`; several processes (daemon and CLI)
may open the same file. Writes run in ``BEGIN IMMEDIATE`` transactions, so concurrent writers
queue on the busy timeout instead of failing on a stale read snapshot.

:class:`SQLiteStore` is composed of its sections: connection, lock and transactions in
``storage/_base.py``, then ``_sources_store``, ``_articles_store``, ``_pages_store`` (revisions,
page retries), ``_reads_store`` (lookups, search, digest, counts) and ``_alerts_store``.
"""

from __future__ import annotations

import pathlib
import sqlite3
import time
from typing import TYPE_CHECKING

from storage._alerts_store import AlertsStore
from storage._articles_store import ArticlesStore
from storage._pages_store import PagesStore
from storage._reads_store import ALERT_STATUSES as ALERT_STATUSES
from storage._reads_store import ReadsStore
from storage._sources_store import SourcesStore
from storage.errors import DatabaseUnavailableError

__all__ = ["BUSY_TIMEOUT_S", "SQLiteStore", "open_store"]

BUSY_TIMEOUT_S = 5.0
WAL_CHECKPOINT_PAGES = 10_000


class SQLiteStore(SourcesStore, ArticlesStore, PagesStore, ReadsStore, AlertsStore):
    """A :class:`storage.Store` in one SQLite file. Use :func:`open_store` to get one."""

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(path: pathlib.Path, busy_timeout_s: float) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailableError(f"cannot create directory {path.parent}: {exc}") from exc
    if path.is_dir():
        raise DatabaseUnavailableError(f"{path} is a directory, not a database file")
    try:
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise DatabaseUnavailableError(f"cannot open database {path}: {exc}") from exc
    return conn


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> str:
    """``PRAGMA journal_mode = WAL``, tried again while another connection holds the new
    file (the switch needs it alone, and SQLite does not wait for that by itself): several
    processes opening one new database at once (review 13) must all succeed."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def open_store(path: pathlib.Path | str, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> SQLiteStore:
    """Open (creating it and its parent directories if needed) and migrate the database.

    Raises :class:`DatabaseUnavailableError` if the file or directory cannot be written or the
    file is not an SQLite database, and :class:`MigrationError` if it was created by a newer
    version of this program. ``busy_timeout_s`` is how long a statement waits for another
    connection's write lock before failing with :class:`DatabaseUnavailableError`.
    """
    path = pathlib.Path(path).expanduser()
    conn = _connect(path, busy_timeout_s)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = _switch_to_wal(conn, busy_timeout_s)
        if str(mode).lower() != "wal":
            raise DatabaseUnavailableError(f"{path}: cannot switch to WAL journal (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        # Checkpoint the WAL every ~40 MB instead of every ~4 MB: a poll rewrites the same
        # index pages in many small transactions, and each checkpoint copies them into the
        # database file again (bench/poll: ~10% of the store's time in a cold poll).
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES:d}")
        # A savepoint (SQLiteStore.transaction nested) keeps the original of every page it
        # changes in a statement journal, which spills to a temporary file past 64 KiB:
        # kept in memory it costs a copy (measured with a savepoint per source of a cold
        # poll: 0.1 s of file writes per 10,000 articles otherwise). Temporary tables and
        # sorts too.
        conn.execute("PRAGMA temp_store = MEMORY")
        # Fail now, with a clear message, if the file cannot be written.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        from storage import migrations  # imports sqlite-utils only when a migration is due

        version = migrations.schema_version(conn)
        # a new database: the schema script, in one transaction; an older one: its migrations
        created = version == 0 and migrations.create_current(conn)
        if not created and version != migrations.SCHEMA_VERSION:
            from sqlite_utils import Database

            migrations.migrate(Database(conn, execute_plugins=False))
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseUnavailableError(f"cannot use {path} as the watcher database: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return SQLiteStore(conn, path)


if TYPE_CHECKING:
    from storage.interface import Store

    def _implements_store(store: SQLiteStore) -> Store:
        return store  # mypy proves that SQLiteStore satisfies the Store protocol
