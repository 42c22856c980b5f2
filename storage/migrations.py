"""Versioned schema migrations, tracked in ``PRAGMA user_version``.

:data:`MIGRATIONS` is an ordered list; the schema version of a database is the number of
migrations applied to it. Migrations only ever get appended, never edited or reordered.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sqlite-utils is imported by the caller only when a migration is due
    from sqlite_utils import Database
    from sqlite_utils.db import Table

from storage.errors import MigrationError

Migration = Callable[["Database"], None]

#: How much new search-index data FTS5 buffers in memory before writing a segment (migration 8).
SEARCH_INDEX_BUFFER_BYTES = 16 * 1024 * 1024


def _table(db: Database, name: str) -> Table:
    return db.table(name)


def _m001_initial(db: Database) -> None:
    """Sources, fetch log, articles (+ FTS5), article sources, matches, alert outbox, mutes."""
    _table(db, "sources").create(
        {
            "name": str,
            "url": str,
            "kind": str,
            "configured_url": str,
            "etag": str,
            "last_modified": str,
            "last_attempt_at": str,
            "last_success_at": str,
            "last_error": str,
            "last_error_at": str,
            "failing_since": str,
            "consecutive_failures": int,
            "next_poll_at": str,
            "retired": int,
            "retired_reason": str,
            "items_seen": int,
            "last_new_item_at": str,
            "created_at": str,
        },
        pk="name",
        not_null={"url", "kind", "configured_url", "created_at"},
        defaults={"consecutive_failures": 0, "retired": 0, "items_seen": 0},
    )
    fetch_log = _table(db, "fetch_log")
    fetch_log.create(
        {
            "id": int,
            "source": str,
            "url": str,
            "at": str,
            "status": str,
            "http_status": int,
            "error": str,
            "duration_ms": int,
            "items": int,
            "new_items": int,
        },
        pk="id",
        not_null={"source", "url", "at", "status"},
    )
    fetch_log.create_index(["source", "at"])
    fetch_log.create_index(["at"])

    articles = _table(db, "articles")
    articles.create(
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "source": str,
            "title": str,
            "text": str,
            "guid": str,
            "summary": str,
            "published": str,
            "language": str,
            "author": str,
            "site_name": str,
            "extraction": str,
            "extraction_note": str,
            "content_hash": str,
            "first_seen_at": str,
        },
        pk="id",
        not_null={"url", "canonical_url", "source", "title", "text", "first_seen_at"},
    )
    articles.create_index(["canonical_url"])
    articles.create_index(["guid"])
    articles.create_index(["content_hash"])
    articles.create_index(["first_seen_at"])
    # Trigram: substring search that works for languages without spaces (Chinese, Japanese)
    # and for Arabic words with attached prefixes (و, ال, ب ...).
    articles.enable_fts(
        ["title", "text"], create_triggers=True, tokenize="trigram case_sensitive 0"
    )

    article_sources = _table(db, "article_sources")
    article_sources.create(
        {
            "article_id": int,
            "source": str,
            "url": str,
            "canonical_url": str,
            "first_seen_at": str,
        },
        pk=("article_id", "source"),
        not_null={"first_seen_at"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    article_sources.create_index(["source"])
    article_sources.create_index(["canonical_url"])

    matches = _table(db, "matches")
    matches.create(
        {
            "id": int,
            "article_id": int,
            "rule": str,
            "name": str,
            "severity": str,
            "tags": str,
            "evidence": str,
            "details": str,
            "amount_usd": float,
            "muted": int,
            "matched_at": str,
        },
        pk="id",
        not_null={"article_id", "rule", "name", "severity", "matched_at"},
        defaults={"muted": 0, "tags": "[]", "evidence": "[]", "details": "[]"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    matches.create_index(["article_id", "rule"], unique=True)
    matches.create_index(["rule"])

    alerts = _table(db, "alerts")
    alerts.create(
        {
            "id": str,
            "article_id": int,
            "channel": str,
            "rules": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
            "note": str,
            "also_reported_by": str,
        },
        pk="id",
        not_null={"article_id", "channel", "status", "created_at"},
        defaults={"attempts": 0, "rules": "[]", "also_reported_by": "[]"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    alerts.create_index(["article_id", "channel"], unique=True)
    alerts.create_index(["status", "next_attempt_at"])
    alerts.create_index(["channel", "status", "sent_at"])

    _table(db, "mutes").create(
        {"kind": str, "target": str, "created_at": str, "until": str},
        pk=("kind", "target"),
        not_null={"created_at"},
    )


def _m002_alert_leases(db: Database) -> None:
    """Alert delivery leases (``claimed_by``, ``lease_until``: one sender at a time across
    processes) and ``horizon_from`` (the retry horizon restarts on a manual retry)."""
    alerts = _table(db, "alerts")
    alerts.add_column("claimed_by", str)
    alerts.add_column("lease_until", str)
    alerts.add_column("horizon_from", str)
    db.execute("UPDATE alerts SET horizon_from = created_at")


def _m003_deferred_search_index(db: Database) -> None:
    """Index new articles for search in bulk instead of row by row: inserting into the FTS5
    trigram index one small transaction at a time costs ~5x a bulk insert. New article ids
    wait in ``fts_pending`` until :meth:`SQLiteStore.index_pending` (run by ``search`` itself
    and at the end of a poll); updates and deletes of indexed rows keep the index exact."""
    for statement in (
        "CREATE TABLE IF NOT EXISTS fts_pending (id INTEGER PRIMARY KEY)",
        "DROP TRIGGER IF EXISTS articles_ai",
        "DROP TRIGGER IF EXISTS articles_ad",
        "DROP TRIGGER IF EXISTS articles_au",
        """CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
  INSERT OR IGNORE INTO fts_pending (id) VALUES (new.id);
END""",
        """CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    SELECT 'delete', old.id, old.title, old.text
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE id = old.id);
  DELETE FROM fts_pending WHERE id = old.id;
END""",
        """CREATE TRIGGER articles_au AFTER UPDATE ON articles
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE id = old.id) BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
  INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END""",
    ):
        db.execute(statement)


def _m004_article_urls_page_retries(db: Database) -> None:
    """``article_urls``: more canonical URLs of a stored article (e.g. a feed link that
    redirected to it), so the next poll finds the item without fetching it again.
    ``page_retries``: article pages whose fetch failed for a temporary cause, retried on later
    polls before the item falls back to its feed text."""
    for statement in (
        "CREATE TABLE IF NOT EXISTS article_urls (canonical_url TEXT PRIMARY KEY,"
        " article_id INTEGER NOT NULL REFERENCES articles(id))",
        "CREATE INDEX IF NOT EXISTS idx_article_urls_article_id ON article_urls (article_id)",
        "CREATE TABLE IF NOT EXISTS page_retries (key TEXT PRIMARY KEY,"
        " attempts INTEGER NOT NULL, first_failed_at TEXT NOT NULL, last_error TEXT)",
    ):
        db.execute(statement)


def _m005_article_revisions(db: Database) -> None:
    """Article revisions: the item's own modification time, the page's validators (ETag,
    Last-Modified) for conditional revalidation, when it was last checked and changed, and a
    revision counter. An alert belongs to a revision, so a revision that matches a new rule
    gets its own alert on a channel already alerted for the article. The search index is only
    rewritten when the title or text change (not for bookkeeping columns)."""
    for statement in (
        "ALTER TABLE articles ADD COLUMN item_updated TEXT",
        "ALTER TABLE articles ADD COLUMN page_etag TEXT",
        "ALTER TABLE articles ADD COLUMN page_last_modified TEXT",
        "ALTER TABLE articles ADD COLUMN checked_at TEXT",
        "ALTER TABLE articles ADD COLUMN revised_at TEXT",
        "ALTER TABLE articles ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE alerts ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "DROP INDEX IF EXISTS idx_alerts_article_id_channel",
        "CREATE UNIQUE INDEX IF NOT EXISTS idx_alerts_article_id_channel_revision"
        " ON alerts (article_id, channel, revision)",
        "DROP TRIGGER IF EXISTS articles_au",
        """CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE id = old.id) BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
  INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END""",
    ):
        db.execute(statement)


def _m006_search_queue_without_trigger(db: Database) -> None:
    """New articles are queued for the search index by the store itself, in one statement per
    batch (``SQLiteStore._queue_for_search``): the AFTER INSERT trigger cost half of an
    article insert."""
    db.execute("DROP TRIGGER IF EXISTS articles_ai")
    # A process of an older version still running after this migration inserts without
    # queuing: ``fts_state.swept`` is the highest article id checked for a missing index
    # entry; SQLiteStore._index_pending checks every id above it (ids only grow, and writes
    # are serialised, so none is missed). Everything up to now was queued by the trigger.
    db.execute("CREATE TABLE IF NOT EXISTS fts_state (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    db.execute(
        "INSERT OR REPLACE INTO fts_state (k, v)"
        " VALUES ('swept', (SELECT coalesce(max(id), 0) FROM articles))"
    )


def _m007_index_triggers_follow_the_index(db: Database) -> None:
    """The update and delete triggers rewrite a search-index entry only when the article has
    one (``articles_fts_docsize``), instead of whenever it is not queued: an article inserted
    unqueued by an older process (see migration 6) and revised or deleted before the next
    sweep would otherwise make FTS5 delete an entry that does not exist (a corrupt index)."""
    for statement in (
        "DROP TRIGGER IF EXISTS articles_ad",
        "DROP TRIGGER IF EXISTS articles_au",
        """CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    SELECT 'delete', old.id, old.title, old.text
    WHERE EXISTS (SELECT 1 FROM articles_fts_docsize WHERE id = old.id);
  DELETE FROM fts_pending WHERE id = old.id;
END""",
        """CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles
WHEN EXISTS (SELECT 1 FROM articles_fts_docsize WHERE id = old.id) BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
  INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END""",
    ):
        db.execute(statement)


def _m008_search_index_buffer(db: Database) -> None:
    """FTS5 buffers new index entries in memory and writes them out as a segment whenever the
    buffer passes ``hashsize`` (1 MiB by default), merging segments as they pile up. The bulk
    update of a poll's articles (``SQLiteStore._index_pending``) made ~70 segments of 10,000
    feed items and spent a third of its time merging them; with a 16 MiB buffer it makes a few
    (0.205 -> 0.145 s for those 10,000 items). The buffer exists only during an update, and
    costs up to about twice its size then (bulk-indexing 3,000 articles of 6 KB: +29 MiB of
    peak memory instead of +2 MiB, 3.5 s instead of 5.7 s; review 6)."""
    db.execute(
        "INSERT INTO articles_fts (articles_fts, rank) VALUES ('hashsize', ?)",
        [SEARCH_INDEX_BUFFER_BYTES],
    )


#: Every migration, oldest first. The schema version is ``len(MIGRATIONS)``.
MIGRATIONS: list[Migration] = [
    _m001_initial,
    _m002_alert_leases,
    _m003_deferred_search_index,
    _m004_article_urls_page_retries,
    _m005_article_revisions,
    _m006_search_queue_without_trigger,
    _m007_index_triggers_follow_the_index,
    _m008_search_index_buffer,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The ``user_version`` of the database (0 for a new one)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def create_current(conn: sqlite3.Connection) -> bool:
    """Give a new (empty, version 0) database the current schema in one ``BEGIN IMMEDIATE``
    transaction from :data:`storage.schema.SCHEMA_STATEMENTS`, without sqlite-utils. False,
    changing nothing, when the database is not new (another process may have just created it):
    :func:`migrate` then does what is due. Raises :class:`MigrationError` if a statement fails
    (a version-0 file that holds tables of its own)."""
    from storage.schema import SCHEMA_STATEMENTS, SCHEMA_VERSION_OF_SCRIPT

    if SCHEMA_VERSION_OF_SCRIPT != SCHEMA_VERSION:  # a migration added without the script
        return False
    with _immediate(conn):
        if schema_version(conn) != 0:
            return False
        for statement in SCHEMA_STATEMENTS:
            try:
                conn.execute(statement)
            except sqlite3.Error as exc:
                raise MigrationError(f"creating the schema failed: {exc}") from exc
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    return True


def migrate(db: Database, migrations: list[Migration] | None = None) -> int:
    """Apply pending migrations, each in its own ``BEGIN IMMEDIATE`` transaction, and return
    the resulting schema version. Safe when several processes open a new database at once.

    Raises :class:`MigrationError` when the database was written by a newer program.
    """
    steps = MIGRATIONS if migrations is None else migrations
    conn = db.conn
    current = schema_version(conn)
    if current > len(steps):
        raise MigrationError(
            f"database schema version {current} is newer than this program supports "
            f"({len(steps)}); upgrade ai-news-watcher or use another database file"
        )
    while current < len(steps):
        with _immediate(conn):
            current = schema_version(conn)  # another process may have migrated meanwhile
            if current < len(steps):
                step = steps[current]
                try:
                    step(db)
                except sqlite3.Error as exc:
                    raise MigrationError(
                        f"migration {current + 1} ({step.__name__}) failed: {exc}"
                    ) from exc
                current += 1
                conn.execute(f"PRAGMA user_version = {current:d}")
    return current


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A ``BEGIN IMMEDIATE`` transaction, committed when the block ends (a ``return``
    included) and rolled back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
