"""The SQLite implementation of :class:`storage.interface.Store` (sqlite-utils 4).

One connection per store, WAL journal, 5 s busy timeout, foreign keys on. The connection is
shared between threads behind an :class:`threading.RLock`; several processes (daemon and CLI)
may open the same file. Writes run in ``BEGIN IMMEDIATE`` transactions, so concurrent writers
queue on the busy timeout instead of failing on a stale read snapshot.
"""

from __future__ import annotations

import functools
import logging
import pathlib
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from rules.models import RuleMatch
from storage import _inserts, _revise, _rows
from storage._rows import Row, dumps, iso, iso_or_none, str_tuple
from storage._search import build_search
from storage.errors import DatabaseUnavailableError, NotFoundError, StorageError, TransactionAborted
from storage.models import (
    AlertRecord,
    AlertStatus,
    ArticleOutcome,
    ArticleRecord,
    ArticleRevision,
    Counts,
    DigestEntry,
    FetchLogEntry,
    MatchRecord,
    Mute,
    NewArticle,
    PageCheck,
    PageState,
    RevisionOutcome,
    SourceDef,
    SourceState,
    SourceUpdate,
)
from storage.urls import content_hash

__all__ = ["BUSY_TIMEOUT_S", "SQLiteStore", "open_store"]

log = logging.getLogger("storage")

BUSY_TIMEOUT_S = 5.0
WAL_CHECKPOINT_PAGES = 10_000
ALERT_STATUSES: tuple[AlertStatus, ...] = ("pending", "sent", "failed", "muted")
_CHUNK = 500  # ids per "IN (...)" query
_NO_LEASE = ", claimed_by = NULL, lease_until = NULL"  # an outcome ends the delivery lease

P = ParamSpec("P")
R = TypeVar("R")


def _guarded(
    fn: Callable[Concatenate[SQLiteStore, P], R],
) -> Callable[Concatenate[SQLiteStore, P], R]:
    """Serialise calls on the store's lock and turn sqlite3 errors into :class:`StorageError`."""

    def wrapper(self: SQLiteStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            if self._closed:
                raise StorageError("the store is closed")
            try:
                return fn(self, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                raise DatabaseUnavailableError(f"{self.path}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"{self.path}: {exc}") from exc

    functools.update_wrapper(wrapper, fn)
    return wrapper


class SQLiteStore:
    """A :class:`storage.Store` in one SQLite file. Use :func:`open_store` to get one."""

    def __init__(self, conn: sqlite3.Connection, path: pathlib.Path) -> None:
        self._db: Database | None = None  # made on demand: sqlite-utils is slow to import
        self._conn = conn
        self._lock = threading.RLock()
        self._closed = False
        self._savepoints = 0  # open savepoints (see _savepoint)
        self._blocks = 0  # open transaction() blocks
        self._in_method = False  # a write method's own savepoint is open (see _write)
        self.path = path

    @property
    def db(self) -> Database:
        """The underlying sqlite-utils database (for tests and maintenance commands)."""
        if self._db is None:
            from sqlite_utils import Database

            self._db = Database(self._conn, execute_plugins=False)
        return self._db

    # -- helpers ---------------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        cursor = self._conn.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]

    def _row(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Row | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); joins one already open. Inside a
        :meth:`transaction` block, a write method is a savepoint of its own, so that it stays
        all or nothing even when the block goes on after its error."""
        conn = self._conn
        if conn.in_transaction:
            if self._blocks and not self._in_method:
                self._in_method = True
                try:
                    with self._savepoint():
                        yield conn
                finally:
                    self._in_method = False
            else:
                yield conn
            return
        if self._blocks:  # SQLite rolled the block's transaction back: never start another
            raise self._aborted()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            if not conn.in_transaction:  # an error caught inside took the transaction with it
                raise self._aborted()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # never leave a transaction open for the next call
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several write calls as one transaction: committed together, or undone together if
        the block raises. Nested, a savepoint (an inner failure undoes only the inner block).

        Keep the block short and synchronous: it holds the store's lock, and anything run
        by the same thread in the meantime (another coroutine, if the block awaited) would
        join it. An error after which SQLite rolls back the whole transaction by itself (disk
        full, I/O error) raises :class:`TransactionAborted` from the innermost block, and
        from every block around it: nothing of the outermost one is kept."""
        with self._lock:
            if self._closed:
                raise StorageError("the store is closed")
            conn = self._conn
            if self._blocks and not conn.in_transaction:
                raise self._aborted()
            try:
                with self._savepoint() if conn.in_transaction else self._write():
                    self._blocks += 1
                    try:
                        yield
                    finally:
                        self._blocks -= 1
            except sqlite3.OperationalError as exc:
                raise DatabaseUnavailableError(f"{self.path}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"{self.path}: {exc}") from exc

    def _aborted(self) -> TransactionAborted:
        return TransactionAborted(
            f"{self.path}: SQLite rolled back the whole transaction after an error"
        )

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        """Inside the open transaction: the block's writes are kept or undone together."""
        conn = self._conn
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException as exc:
            if not conn.in_transaction:  # SQLite undid everything, not only this block
                if isinstance(exc, TransactionAborted):
                    raise
                raise self._aborted() from exc
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._savepoints -= 1
        if not conn.in_transaction:  # an error the block caught took the transaction with it
            raise self._aborted()
        conn.execute(f"RELEASE {name}")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot across several queries."""
        conn = self._conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _update_alert(self, alert_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE alerts SET {sets} WHERE id = :_id", {**fields, "_id": alert_id}
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no alert {alert_id!r}")

    def _sources_of(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {}
        for i in range(0, len(article_ids), _CHUNK):
            chunk = article_ids[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._conn.execute(
                f"SELECT article_id, source FROM article_sources WHERE article_id IN ({marks}) "
                "ORDER BY first_seen_at, rowid",
                list(chunk),
            ):
                out.setdefault(row[0], []).append(row[1])
        return {k: tuple(v) for k, v in out.items()}

    def _matches_of(
        self, article_ids: Sequence[int], include_muted: bool = True
    ) -> dict[int, list[MatchRecord]]:
        out: dict[int, list[MatchRecord]] = {}
        muted_sql = "" if include_muted else " AND muted = 0"
        for i in range(0, len(article_ids), _CHUNK):
            chunk = article_ids[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._rows(
                f"SELECT * FROM matches WHERE article_id IN ({marks}){muted_sql} ORDER BY id",
                list(chunk),
            ):
                out.setdefault(row["article_id"], []).append(_rows.to_match(row))
        return out

    def _articles(self, rows: list[Row]) -> list[ArticleRecord]:
        sources = self._sources_of([r["id"] for r in rows])
        return [_rows.to_article(r, sources.get(r["id"], ())) for r in rows]

    def _find_duplicate(self, article: NewArticle, fingerprint: str) -> int | None:
        """Canonical URL first (an article's own, then one under which a duplicate was seen,
        then an alias such as a redirect's target: the order of :meth:`known_articles`), then
        GUID, then content hash (each only when non-empty)."""
        parts: list[str] = []
        params: list[str] = []
        canonical = article.canonical_url
        for rank, (table, id_column, column, value) in enumerate(
            (
                ("articles", "id", "canonical_url", canonical),
                ("article_sources", "article_id", "canonical_url", canonical),
                ("article_urls", "article_id", "canonical_url", canonical),
                ("articles", "id", "guid", article.guid or ""),
                ("articles", "id", "content_hash", fingerprint),
            )
        ):
            if value:
                parts.append(
                    f"SELECT * FROM (SELECT {id_column} AS id, {rank} AS r FROM {table}"
                    f" WHERE {column} = ? ORDER BY {id_column} LIMIT 1)"
                )
                params.append(value)
        if not parts:
            return None
        row = self._conn.execute(
            " UNION ALL ".join(parts) + " ORDER BY r LIMIT 1", params
        ).fetchone()
        return None if row is None else int(row[0])

    def _add_source(
        self, article_id: int, source: str, url: str | None, now: datetime, canonical: str = ""
    ) -> None:
        conn = self._conn
        primary = self._scalar("SELECT source FROM articles WHERE id = ?", [article_id])
        if primary is None:
            raise NotFoundError(f"no article {article_id}")
        cur = conn.execute(
            "INSERT OR IGNORE INTO article_sources (article_id, source, url, canonical_url,"
            " first_seen_at) VALUES (?, ?, ?, ?, ?)",
            [article_id, source, url, canonical or None, iso(now)],
        )
        if cur.rowcount == 0:
            if url or canonical:  # first time this source's URL for the article is known
                conn.execute(
                    "UPDATE article_sources SET url = COALESCE(url, ?),"
                    " canonical_url = COALESCE(canonical_url, ?) WHERE article_id = ? AND source = ?",
                    [url, canonical or None, article_id, source],
                )
            return
        if source == primary:
            return
        for alert_id, reported in conn.execute(
            "SELECT id, also_reported_by FROM alerts WHERE article_id = ?", [article_id]
        ).fetchall():
            names = list(str_tuple(reported))
            if source not in names:
                names.append(source)
                conn.execute(
                    "UPDATE alerts SET also_reported_by = ? WHERE id = ?", [dumps(names), alert_id]
                )

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

    # -- sources ---------------------------------------------------------------------------
    @_guarded
    def sync_sources(self, sources: Sequence[SourceDef], now: datetime) -> None:
        """Insert new sources, follow changed configured URLs/kinds and revive re-added ones.

        A changed configured URL replaces the current URL and forgets the cache validators
        (and un-retires the source). Sources no longer configured are kept but retired with
        reason ``"removed"``; only those are revived when configured again (a source retired
        for ``410 Gone`` stays retired until its URL changes).
        """
        with self._write() as conn:
            existing = {r["name"]: r for r in self._rows("SELECT * FROM sources")}
            wanted = {s.name: s for s in sources}
            for name, src in wanted.items():
                row = existing.get(name)
                if row is None:
                    conn.execute(
                        "INSERT INTO sources (name, url, kind, configured_url, created_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [name, src.url, src.kind, src.url, iso(now)],
                    )
                    continue
                changes: dict[str, Any] = {}
                if row["configured_url"] != src.url:
                    changes.update(
                        url=src.url,
                        configured_url=src.url,
                        etag=None,
                        last_modified=None,
                        next_poll_at=None,
                        retired=0,
                        retired_reason=None,
                    )
                if row["kind"] != src.kind:
                    changes["kind"] = src.kind
                if row["retired"] and row["retired_reason"] == "removed":
                    changes.update(retired=0, retired_reason=None)
                if changes:
                    sets = ", ".join(f"{k} = :{k}" for k in changes)
                    conn.execute(
                        f"UPDATE sources SET {sets} WHERE name = :_name", {**changes, "_name": name}
                    )
            for name, row in existing.items():
                if name not in wanted and not row["retired"]:
                    conn.execute(
                        "UPDATE sources SET retired = 1, retired_reason = 'removed' WHERE name = ?",
                        [name],
                    )

    @_guarded
    def get_source(self, name: str) -> SourceState | None:
        row = self._row("SELECT * FROM sources WHERE name = ?", [name])
        return None if row is None else _rows.to_source(row)

    @_guarded
    def list_sources(self) -> list[SourceState]:
        """Every source, retired ones included, by name."""
        return [_rows.to_source(r) for r in self._rows("SELECT * FROM sources ORDER BY name")]

    @_guarded
    def update_source(self, name: str, update: SourceUpdate) -> None:
        """Apply the non-``None`` fields of ``update``; :class:`NotFoundError` if unknown."""
        changes: dict[str, Any] = {}
        if update.url is not None:
            changes["url"] = update.url
        if update.etag is not None:
            changes["etag"] = update.etag or None
        if update.last_modified is not None:
            changes["last_modified"] = update.last_modified or None
        if update.next_poll_at is not None:
            changes["next_poll_at"] = iso(update.next_poll_at)
        if update.retired is not None:
            changes["retired"] = int(update.retired)
            changes["retired_reason"] = (
                (update.retired_reason or "gone") if update.retired else None
            )
        with self._write() as conn:
            if not changes:
                if self._scalar("SELECT 1 FROM sources WHERE name = ?", [name]) is None:
                    raise NotFoundError(f"no source {name!r}")
                return
            sets = ", ".join(f"{k} = :{k}" for k in changes)
            cur = conn.execute(
                f"UPDATE sources SET {sets} WHERE name = :_name", {**changes, "_name": name}
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no source {name!r}")

    @_guarded
    def record_fetch(self, entry: FetchLogEntry) -> None:
        """Append to the fetch log and update the source's health in one transaction.

        ``ok``/``not_modified`` set last_success_at and clear failing_since and
        consecutive_failures; ``error`` sets last_error(_at), increments consecutive_failures
        and sets failing_since if unset; ``skipped`` is only logged. Every status but
        ``skipped`` sets last_attempt_at. ``items`` adds to items_seen; ``new_items > 0`` sets
        last_new_item_at. :class:`NotFoundError` if the source was never synced.
        """
        at = iso(entry.at)
        with self._write() as conn:
            if self._scalar("SELECT 1 FROM sources WHERE name = ?", [entry.source]) is None:
                raise NotFoundError(f"no source {entry.source!r}")
            conn.execute(
                "INSERT INTO fetch_log (source, url, at, status, http_status, error, duration_ms,"
                " items, new_items) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    entry.source,
                    entry.url,
                    at,
                    entry.status,
                    entry.http_status,
                    entry.error,
                    entry.duration_ms,
                    entry.items,
                    entry.new_items,
                ],
            )
            params = {"name": entry.source, "at": at, "items": entry.items}
            sql = "UPDATE sources SET items_seen = items_seen + :items"
            if entry.new_items > 0:
                sql += ", last_new_item_at = :at"
            if entry.status in ("ok", "not_modified"):
                sql += (
                    ", last_attempt_at = :at, last_success_at = :at, failing_since = NULL,"
                    " consecutive_failures = 0"
                )
            elif entry.status == "error":
                sql += (
                    ", last_attempt_at = :at, last_error = :error, last_error_at = :at,"
                    " consecutive_failures = consecutive_failures + 1,"
                    " failing_since = COALESCE(failing_since, :at)"
                )
                params["error"] = entry.error or "error"
            conn.execute(sql + " WHERE name = :name", params)

    @_guarded
    def record_poll(self, entry: FetchLogEntry, update: SourceUpdate) -> None:
        """:meth:`record_fetch` and :meth:`update_source` (of ``entry.source``) in ONE
        transaction: the bookkeeping at the end of a source's poll."""
        with self._write():
            self.record_fetch(entry)
            self.update_source(entry.source, update)

    @_guarded
    def prune_fetch_log(self, before: datetime) -> int:
        """Delete fetch log entries older than ``before``; returns how many went."""
        with self._write() as conn:
            return conn.execute("DELETE FROM fetch_log WHERE at < ?", [iso(before)]).rowcount

    @_guarded
    def fetch_log(self, source: str | None = None, limit: int = 50) -> list[FetchLogEntry]:
        """Newest first."""
        if source is None:
            rows = self._rows("SELECT * FROM fetch_log ORDER BY at DESC, id DESC LIMIT ?", [limit])
        else:
            rows = self._rows(
                "SELECT * FROM fetch_log WHERE source = ? ORDER BY at DESC, id DESC LIMIT ?",
                [source, limit],
            )
        return [_rows.to_fetch(r) for r in rows]

    # -- articles --------------------------------------------------------------------------
    @_guarded
    def known_article(self, canonical_url: str, guid: str | None = None) -> int | None:
        """The id of a stored article with this canonical URL (also the URL under which a
        duplicate of it was seen) or non-empty GUID, else ``None``."""
        queries = (
            ("SELECT id FROM articles WHERE canonical_url = ? ORDER BY id LIMIT 1", canonical_url),
            (
                "SELECT article_id FROM article_sources WHERE canonical_url = ?"
                " ORDER BY article_id LIMIT 1",
                canonical_url,
            ),
            ("SELECT article_id FROM article_urls WHERE canonical_url = ?", canonical_url),
            ("SELECT id FROM articles WHERE guid = ? ORDER BY id LIMIT 1", guid or ""),
        )
        for sql, value in queries:
            if value:
                found = self._scalar(sql, [value])
                if found is not None:
                    return int(found)
        return None

    @_guarded
    def add_article_source(self, article_id: int, source: str, now: datetime) -> None:
        """Remember that ``source`` also carried a stored article (idempotent) and add it to
        ``also_reported_by`` of the article's alerts. :class:`NotFoundError` if no article."""
        with self._write():
            self._add_source(article_id, source, None, now)

    @_guarded
    def known_articles(self, keys: Sequence[tuple[str, str | None]]) -> list[int | None]:
        """:meth:`known_article` for many ``(canonical_url, guid)`` pairs at once: a few
        ``IN (...)`` queries in one read snapshot instead of three queries per pair."""
        urls = list(dict.fromkeys(c for c, _ in keys if c))
        guids = list(dict.fromkeys(g for _, g in keys if g))
        by_url: dict[str, int] = {}
        by_alias: dict[str, int] = {}
        by_alias_url: dict[str, int] = {}
        by_guid: dict[str, int] = {}
        lookups = (
            (
                "SELECT canonical_url, min(id) FROM articles WHERE canonical_url IN ({})"
                " GROUP BY canonical_url",
                urls,
                by_url,
            ),
            (
                "SELECT canonical_url, min(article_id) FROM article_sources WHERE canonical_url"
                " IN ({}) GROUP BY canonical_url",
                urls,
                by_alias,
            ),
            (
                "SELECT canonical_url, article_id FROM article_urls WHERE canonical_url IN ({})",
                urls,
                by_alias_url,
            ),
            ("SELECT guid, min(id) FROM articles WHERE guid IN ({}) GROUP BY guid", guids, by_guid),
        )
        with self._read() as conn:
            for sql, values, out in lookups:
                for i in range(0, len(values), _CHUNK):
                    chunk = values[i : i + _CHUNK]
                    for key, found in conn.execute(sql.format(",".join("?" * len(chunk))), chunk):
                        out[key] = int(found)
        result: list[int | None] = []
        for canon, guid in keys:
            found_id = (
                (by_url.get(canon) or by_alias.get(canon) or by_alias_url.get(canon))
                if canon
                else None
            )
            if found_id is None and guid:
                found_id = by_guid.get(guid)
            result.append(found_id)
        return result

    @_guarded
    def add_article_sources(self, article_ids: Sequence[int], source: str, now: datetime) -> None:
        """:meth:`add_article_source` for several articles in one transaction."""
        with self._write():
            for article_id in article_ids:
                self._add_source(article_id, source, None, now)

    @_guarded
    def record_article(
        self,
        article: NewArticle,
        matches: Sequence[RuleMatch],
        alerts: Mapping[str, Sequence[str]],
        now: datetime,
        muted_rules: Sequence[str] = (),
    ) -> ArticleOutcome:
        """Store an article, its matches and its outbox alerts in ONE transaction.

        Deduplicates on canonical URL, then GUID, then content hash (the latter two only when
        non-empty; a missing ``content_hash`` is computed here). A duplicate only adds its
        source to the stored article (and to ``also_reported_by`` of its alerts) and returns
        ``created=False`` with no alert ids. Channels with no rules get no alert; an alert whose
        rules are all in ``muted_rules`` is stored with status ``muted``.
        """
        with self._write():
            out = self._record(article, matches, alerts, now, iso(now), muted_rules)
            self._queue_for_search([out])
            return out

    @_guarded
    def record_articles(
        self, items: Sequence[ArticleBatchItem], now: datetime
    ) -> list[ArticleOutcome]:
        """:meth:`record_article` for a batch ``(article, matches, alerts, muted_rules)``, in
        ONE transaction (all or nothing), in order: a later item duplicating an earlier one of
        the same batch is deduplicated against it exactly as if stored one by one."""
        stamp = iso(now)
        with self._write():
            out = [
                self._record(article, matches, alerts, now, stamp, muted)
                for article, matches, alerts, muted in items
            ]
            self._queue_for_search(out)
            return out

    def _queue_for_search(self, outcomes: Sequence[ArticleOutcome]) -> None:
        """New articles wait in ``fts_pending`` for the bulk search-index update (one
        statement per batch: an AFTER INSERT trigger doing it cost ~10 us per article, half
        of the insert itself)."""
        ids = [(o.article_id,) for o in outcomes if o.created]
        if ids:
            self._conn.executemany("INSERT OR IGNORE INTO fts_pending (id) VALUES (?)", ids)

    def _record(
        self,
        article: NewArticle,
        matches: Sequence[RuleMatch],
        alerts: Mapping[str, Sequence[str]],
        now: datetime,
        stamp: str,
        muted_rules: Sequence[str],
    ) -> ArticleOutcome:
        """The body of :meth:`record_article`, inside the caller's write transaction."""
        conn = self._conn
        fingerprint = (
            article.content_hash
            if article.content_hash is not None
            else content_hash(article.title, article.text)
        )
        existing = self._find_duplicate(article, fingerprint)
        if existing is not None:
            self._add_source(existing, article.source, article.url, now, article.canonical_url)
            # the same story under another URL too: known by it on the next poll
            self._add_aliases(existing, (*article.aliases, article.canonical_url))
            return ArticleOutcome(article_id=existing, created=False)
        cur = conn.execute(
            "INSERT INTO articles (url, canonical_url, source, title, text, guid, summary,"
            " published, language, author, site_name, extraction, extraction_note,"
            " content_hash, first_seen_at, item_updated, page_etag, page_last_modified)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.url,
                article.canonical_url,
                article.source,
                article.title,
                article.text,
                article.guid or None,
                article.summary,
                iso_or_none(article.published),
                article.language,
                article.author,
                article.site_name,
                article.extraction,
                article.extraction_note,
                fingerprint or None,
                stamp,
                iso_or_none(article.item_updated),
                article.page_etag,
                article.page_last_modified,
            ),
        )
        article_id = cur.lastrowid
        assert article_id is not None
        conn.execute(
            "INSERT INTO article_sources (article_id, source, url, canonical_url,"
            " first_seen_at) VALUES (?, ?, ?, ?, ?)",
            (article_id, article.source, article.url, article.canonical_url or None, stamp),
        )
        self._add_aliases(article_id, article.aliases)
        muted = set(muted_rules)
        _inserts.insert_matches(conn, article_id, matches, now, muted)
        return ArticleOutcome(
            article_id=article_id,
            created=True,
            alert_ids=_inserts.insert_alerts(conn, article_id, alerts, muted, stamp),
        )

    def _add_aliases(self, article_id: int, urls: Iterable[str]) -> None:
        """More canonical URLs a stored article is known by (its own URL is not repeated)."""
        rows = [(u, article_id, article_id, u) for u in dict.fromkeys(urls) if u]
        if rows:
            self._conn.executemany(
                "INSERT OR IGNORE INTO article_urls (canonical_url, article_id) SELECT ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM articles WHERE id = ? AND canonical_url = ?)",
                rows,
            )

    # -- revisions of stored articles (see storage/_revise.py) ------------------------------
    @_guarded
    def page_states(self, article_ids: Sequence[int]) -> dict[int, PageState]:
        """The revision state of these articles (missing ids are left out)."""
        with self._read() as conn:
            return _revise.page_states(conn, article_ids)

    @_guarded
    def recent_articles(self, source: str, since: datetime, limit: int = 200) -> list[int]:
        """Ids of the articles first stored from ``source`` at or after ``since``, newest
        first (the page revisits of a listing source, see ``watcher.revisions``)."""
        rows = self._conn.execute(
            "SELECT id FROM articles WHERE first_seen_at >= ? AND source = ?"
            " ORDER BY first_seen_at DESC, id DESC LIMIT ?",
            [iso(since), source, limit],
        ).fetchall()
        return [int(r[0]) for r in rows]

    @_guarded
    def mark_pages_checked(self, checks: Sequence[PageCheck], now: datetime) -> None:
        """Articles revalidated without a change of text (a 304, or the same text)."""
        if checks:
            with self._write() as conn:
                _revise.mark_checked(conn, checks, now)

    @_guarded
    def record_revision(
        self,
        revision: ArticleRevision,
        matches: Sequence[RuleMatch],
        alerts: Mapping[str, Sequence[str]],
        now: datetime,
        muted_rules: Sequence[str] = (),
    ) -> RevisionOutcome:
        """Store a changed article in ONE transaction: its new title and text (search index
        included), ``revision + 1``, the matches of rules it did not match before, and an
        alert per channel for those new rules only (rules already matched are not alerted
        again). :class:`NotFoundError` if there is no such article."""
        with self._write() as conn:
            out = _revise.record_revision(
                conn,
                revision,
                matches,
                alerts,
                now,
                muted_rules,
            )
        if out is None:
            raise NotFoundError(f"no article {revision.article_id}")
        return out

    # -- article pages that failed for a temporary cause -----------------------------------
    @_guarded
    def note_page_failures(
        self, failures: Sequence[tuple[str, str]], now: datetime
    ) -> list[tuple[int, datetime]]:
        """Count one more failed attempt for each ``(key, error)`` (key: the page's canonical
        URL) and return ``(attempts, first_failed_at)`` of each, in order."""
        stamp = iso(now)
        out: list[tuple[int, datetime]] = []
        with self._write() as conn:
            for key, error in failures:
                conn.execute(
                    "INSERT INTO page_retries (key, attempts, first_failed_at, last_error)"
                    " VALUES (?, 1, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                    " attempts = attempts + 1, last_error = excluded.last_error",
                    [key, stamp, error],
                )
                row = conn.execute(
                    "SELECT attempts, first_failed_at FROM page_retries WHERE key = ?", [key]
                ).fetchone()
                out.append((int(row[0]), _rows.dt_required(row[1])))
        return out

    @_guarded
    def clear_page_failures(self, keys: Sequence[str]) -> None:
        """Forget the failed attempts of these pages (fetched or given up on)."""
        keys = [k for k in dict.fromkeys(keys) if k]
        if not keys:
            return
        with self._write() as conn:
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i : i + _CHUNK]
                conn.execute(
                    f"DELETE FROM page_retries WHERE key IN ({','.join('?' * len(chunk))})", chunk
                )

    def _index_behind(self) -> bool:
        """Whether articles wait for the search index (a read: no write lock needed)."""
        return bool(
            self._scalar(
                "SELECT EXISTS (SELECT 1 FROM fts_pending) OR (SELECT coalesce(max(id), 0)"
                " FROM articles) > coalesce((SELECT v FROM fts_state WHERE k = 'swept'), 0)"
            )
        )

    def _index_pending(self) -> int:
        if not self._index_behind():  # a read first: no write lock when nothing waits
            return 0
        with self._write() as conn:
            swept, top = conn.execute(
                "SELECT (SELECT v FROM fts_state WHERE k = 'swept'),"
                " (SELECT coalesce(max(id), 0) FROM articles)"
            ).fetchone()
            if swept is not None and top > swept:  # inserted without queuing (see migration 6)
                conn.execute(
                    "INSERT OR IGNORE INTO fts_pending (id) SELECT a.id FROM articles a"
                    " WHERE a.id > ? AND NOT EXISTS"
                    " (SELECT 1 FROM articles_fts_docsize d WHERE d.id = a.id)",
                    [swept],
                )
                conn.execute("UPDATE fts_state SET v = ? WHERE k = 'swept'", [top])
            conn.execute(  # (an id already in the index is never added twice)
                "INSERT INTO articles_fts (rowid, title, text) SELECT a.id, a.title, a.text"
                " FROM fts_pending p JOIN articles a ON a.id = p.id WHERE NOT EXISTS"
                " (SELECT 1 FROM articles_fts_docsize d WHERE d.id = p.id) ORDER BY p.id"
            )
            return int(conn.execute("DELETE FROM fts_pending").rowcount)

    @_guarded
    def index_pending(self) -> int:
        """Add the articles stored since the last call to the search index, in one bulk
        insert (much cheaper than row by row); returns how many. :meth:`search` does it
        itself, so this only moves the work to a convenient moment (after a ``watcher poll``
        cycle, the daemon's index job)."""
        return self._index_pending()

    @_guarded
    def get_article(self, article_id: int) -> ArticleRecord:
        """:class:`NotFoundError` if there is no such article."""
        with self._read():
            row = self._row("SELECT * FROM articles WHERE id = ?", [article_id])
            if row is None:
                raise NotFoundError(f"no article {article_id}")
            return self._articles([row])[0]

    @_guarded
    def article_matches(self, article_id: int) -> list[MatchRecord]:
        return self._matches_of([article_id]).get(article_id, [])

    @_guarded
    def articles_between(self, start: datetime, end: datetime) -> list[ArticleRecord]:
        """Articles first seen in [start, end), oldest first (for backtests)."""
        with self._read():
            rows = self._rows(
                "SELECT * FROM articles WHERE first_seen_at >= ? AND first_seen_at < ?"
                " ORDER BY first_seen_at, id",
                [iso(start), iso(end)],
            )
            return self._articles(rows)

    @_guarded
    def search(self, query: str, limit: int = 20) -> list[ArticleRecord]:
        """Full-text search over title and text, best match first.

        Every word (or ``"quoted phrase"``) of ``query`` must occur, case-insensitively and
        as a substring (FTS5 trigram index: works for Arabic, Chinese, ...). FTS operators
        are taken literally, so no query can cause a syntax error. Words shorter than three
        characters are matched with ``LIKE``. An empty query finds nothing.
        """
        plan = build_search(query, limit)
        if plan is None:
            return []
        try:
            self._index_pending()
        except sqlite3.OperationalError as exc:  # e.g. another process holds the lock
            # the articles indexed so far are still worth finding
            log.warning("search index not brought up to date (%s); searching it as is", exc)
        with self._read():
            return self._articles(self._rows(plan.sql, plan.params))

    # -- alerts (outbox) -------------------------------------------------------------------
    @_guarded
    def due_alerts(self, now: datetime, limit: int = 100) -> list[AlertRecord]:
        """Pending alerts whose next_attempt_at is unset or <= now, oldest first."""
        rows = self._rows(
            "SELECT * FROM alerts WHERE status = 'pending'"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            " ORDER BY created_at, rowid LIMIT ?",
            [iso(now), limit],
        )
        return [_rows.to_alert(r) for r in rows]

    @_guarded
    def pending_alerts(self, channel: str | None = None) -> list[AlertRecord]:
        """Every pending alert (due or not), optionally of one channel, oldest first."""
        sql = "SELECT * FROM alerts WHERE status = 'pending'"
        params: list[Any] = []
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        rows = self._rows(sql + " ORDER BY created_at, rowid", params)
        return [_rows.to_alert(r) for r in rows]

    @_guarded
    def list_alerts(
        self, status: AlertStatus | None = None, limit: int = 100, channel: str | None = None
    ) -> list[AlertRecord]:
        """Alerts, newest first, optionally filtered by status and channel."""
        where: list[str] = []
        params: list[Any] = []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if channel is not None:
            where.append("channel = ?")
            params.append(channel)
        sql = "SELECT * FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._rows(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", [*params, limit])
        return [_rows.to_alert(r) for r in rows]

    @_guarded
    def get_alert(self, alert_id: str) -> AlertRecord:
        """:class:`NotFoundError` if there is no such alert."""
        row = self._row("SELECT * FROM alerts WHERE id = ?", [alert_id])
        if row is None:
            raise NotFoundError(f"no alert {alert_id!r}")
        return _rows.to_alert(row)

    @_guarded
    def alerts_sent_since(self, channel: str, since: datetime) -> int:
        """How many alerts of ``channel`` were sent at or after ``since`` (for throttling)."""
        count = self._scalar(
            "SELECT count(*) FROM alerts WHERE channel = ? AND status = 'sent' AND sent_at >= ?",
            [channel, iso(since)],
        )
        return int(count)

    @_guarded
    def mark_alert_sent(self, alert_id: str, now: datetime, note: str | None = None) -> None:
        """Delivered: status ``sent`` at ``now``, one more attempt; ``note`` (e.g. "batched")
        replaces any earlier note such as a deferral reason."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                f" next_attempt_at = NULL, note = ?{_NO_LEASE} WHERE id = ?",
                [iso(now), note, alert_id],
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no alert {alert_id!r}")

    @_guarded
    def mark_alert_retry(
        self, alert_id: str, now: datetime, error: str, next_attempt_at: datetime
    ) -> None:
        """Count a failed attempt; stays pending until next_attempt_at."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE alerts SET status = 'pending', attempts = attempts + 1, last_error = ?,"
                f" next_attempt_at = ?{_NO_LEASE} WHERE id = ?",
                [error, iso(next_attempt_at), alert_id],
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no alert {alert_id!r}")

    @_guarded
    def mark_alert_failed(self, alert_id: str, now: datetime, error: str) -> None:
        """Give up (past the retry horizon): one more attempt, status ``failed``, kept."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE alerts SET status = 'failed', attempts = attempts + 1, last_error = ?,"
                f" next_attempt_at = NULL{_NO_LEASE} WHERE id = ?",
                [error, alert_id],
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no alert {alert_id!r}")

    @_guarded
    def mark_alert_muted(self, alert_id: str, now: datetime, reason: str) -> None:
        """Not sent because of a mute found at delivery time: status ``muted``, ``reason`` in
        ``note``, no attempt counted, lease released."""
        self._update_alert(
            alert_id,
            status="muted",
            next_attempt_at=None,
            note=reason,
            claimed_by=None,
            lease_until=None,
        )

    @_guarded
    def retry_alert(self, alert_id: str, now: datetime) -> None:
        """Put an alert (failed, muted, pending or even sent) back to pending, due now.
        The attempt counter restarts at 0 and the retry horizon restarts at ``now``
        (``horizon_from``); last_error is kept for information. A live delivery lease is
        left alone, so a retry cannot make an alert in flight go out twice."""
        stamp = iso(now)
        self._update_alert(
            alert_id, status="pending", attempts=0, next_attempt_at=stamp, horizon_from=stamp
        )

    @_guarded
    def defer_alert(self, alert_id: str, until: datetime, reason: str) -> None:
        """Postpone without counting an attempt (quiet hours): pending, due at ``until``,
        ``reason`` kept in ``note``, lease released."""
        self._update_alert(
            alert_id,
            status="pending",
            next_attempt_at=iso(until),
            note=reason,
            claimed_by=None,
            lease_until=None,
        )

    @_guarded
    def claim_alerts(
        self,
        alert_ids: Sequence[str],
        owner: str,
        now: datetime,
        lease: timedelta,
        *,
        due_only: bool = True,
        take_over: Collection[str] = (),
    ) -> list[str]:
        """Atomically lease alerts to ``owner`` until ``now + lease``; returns the ids claimed,
        in the given order.

        Only alerts that are pending, not under a live lease of another owner (``lease_until``
        after ``now``) and, with ``due_only``, due at ``now`` are claimed. Leases held by an
        owner in ``take_over`` (known to be dead) count as expired. One ``BEGIN IMMEDIATE``
        transaction: of several processes claiming the same alerts, each alert goes to one.
        The ``mark_alert_*`` and ``defer_alert`` methods release the lease.
        """
        if not alert_ids:
            return []
        stamp = iso(now)
        until = iso(now + lease)
        claimed: set[str] = set()
        holders = list(dict.fromkeys(take_over))
        cond = "status = 'pending' AND (lease_until IS NULL OR lease_until <= ? OR claimed_by = ?"
        if holders:
            cond += f" OR claimed_by IN ({','.join('?' * len(holders))})"
        cond += ")"
        if due_only:
            cond += " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        with self._write() as conn:
            for i in range(0, len(alert_ids), _CHUNK):
                chunk = list(alert_ids[i : i + _CHUNK])
                params: list[Any] = [owner, until, *chunk, stamp, owner, *holders]
                if due_only:
                    params.append(stamp)
                rows = conn.execute(
                    "UPDATE alerts SET claimed_by = ?, lease_until = ?"
                    f" WHERE id IN ({','.join('?' * len(chunk))}) AND {cond} RETURNING id",
                    params,
                ).fetchall()
                claimed.update(r[0] for r in rows)
        return [a for a in dict.fromkeys(alert_ids) if a in claimed]

    @_guarded
    def release_alerts(self, alert_ids: Sequence[str], owner: str) -> int:
        """Drop ``owner``'s leases on these alerts (a delivery round ending without an
        outcome for them); returns how many were released."""
        released = 0
        with self._write() as conn:
            for i in range(0, len(alert_ids), _CHUNK):
                chunk = list(alert_ids[i : i + _CHUNK])
                released += conn.execute(
                    "UPDATE alerts SET claimed_by = NULL, lease_until = NULL"
                    f" WHERE id IN ({','.join('?' * len(chunk))}) AND claimed_by = ?",
                    [*chunk, owner],
                ).rowcount
        return released

    # -- digest ----------------------------------------------------------------------------
    @_guarded
    def digest_entries(
        self, start: datetime, end: datetime, include_muted: bool = False
    ) -> list[DigestEntry]:
        """Articles with at least one match, first seen in [start, end) or revised in it with
        a rule newly matched in it (``ArticleRecord.revision`` > 0), newest first.

        Matches stored as muted are left out (and an article with only muted matches too)
        unless ``include_muted``.
        """
        muted_sql = "" if include_muted else " AND m.muted = 0"
        a, b = iso(start), iso(end)
        with self._read():
            rows = self._rows(
                "SELECT * FROM articles a WHERE ((a.first_seen_at >= ? AND a.first_seen_at < ?)"
                " OR (a.revised_at >= ? AND a.revised_at < ? AND EXISTS (SELECT 1 FROM matches m"
                f" WHERE m.article_id = a.id AND m.matched_at >= ? AND m.matched_at < ?{muted_sql})))"
                f" AND EXISTS (SELECT 1 FROM matches m WHERE m.article_id = a.id{muted_sql})"
                " ORDER BY max(a.first_seen_at, coalesce(a.revised_at, '')) DESC, a.id DESC",
                [a, b, a, b, a, b],
            )
            articles = self._articles(rows)
            matches = self._matches_of([a.id for a in articles], include_muted)
        return [DigestEntry(article=a, matches=tuple(matches.get(a.id, ()))) for a in articles]

    # -- mutes -----------------------------------------------------------------------------
    @_guarded
    def add_mute(self, mute: Mute) -> None:
        """Add or replace the mute of (kind, target)."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO mutes (kind, target, created_at, until) VALUES (?, ?, ?, ?)",
                [mute.kind, mute.target, iso(mute.created_at), iso_or_none(mute.until)],
            )

    @_guarded
    def remove_mute(self, kind: str, target: str) -> bool:
        """``True`` if there was such a mute."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM mutes WHERE kind = ? AND target = ?", [kind, target])
            return cur.rowcount > 0

    @_guarded
    def active_mutes(self, now: datetime) -> list[Mute]:
        """Mutes without ``until`` or with ``until`` after ``now``, by kind and target."""
        rows = self._rows(
            "SELECT * FROM mutes WHERE until IS NULL OR until > ? ORDER BY kind, target",
            [iso(now)],
        )
        return [_rows.to_mute(r) for r in rows]

    # -- stats -----------------------------------------------------------------------------
    @_guarded
    def counts(self) -> Counts:
        """Row counts; ``alerts`` has every status, zeros included."""
        with self._read():
            sources = int(self._scalar("SELECT count(*) FROM sources"))
            articles = int(self._scalar("SELECT count(*) FROM articles"))
            matches = int(self._scalar("SELECT count(*) FROM matches"))
            alerts: dict[str, int] = dict.fromkeys(ALERT_STATUSES, 0)
            for status, n in self._conn.execute(
                "SELECT status, count(*) FROM alerts GROUP BY status"
            ):
                alerts[status] = int(n)
        return Counts(sources=sources, articles=articles, matches=matches, alerts=alerts)


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
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise DatabaseUnavailableError(f"{path}: cannot switch to WAL journal (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        # Checkpoint the WAL every ~40 MB instead of every ~4 MB: a poll rewrites the same
        # index pages in many small transactions, and each checkpoint copies them into the
        # database file again (bench/poll: ~10% of the store's time in a cold poll).
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES:d}")
        # A savepoint (SQLiteStore.transaction nested) keeps the original of every page it
        # changes in a statement journal, which spills to a temporary file past 64 KiB:
        # kept in memory it costs a copy (bench/poll: the poller's write groups, 0.1 s of
        # file writes per 10,000 articles otherwise). Temporary tables and sorts too.
        conn.execute("PRAGMA temp_store = MEMORY")
        # Fail now, with a clear message, if the file cannot be written.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        from storage import migrations  # imports sqlite-utils only when a migration is due

        if migrations.schema_version(conn) != migrations.SCHEMA_VERSION:
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
    from sqlite_utils import Database

    from storage.interface import ArticleBatchItem, Store

    def _implements_store(store: SQLiteStore) -> Store:
        return store  # mypy proves that SQLiteStore satisfies the Store protocol
