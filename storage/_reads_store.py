"""Reading stored articles of :class:`storage.sqlite.SQLiteStore`: by id or time, full-text
search (and its index upkeep), the digest, row counts."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from storage import _rows
from storage._base import StoreBase, _guarded, in_lists
from storage._rows import Row, iso
from storage._search import build_search
from storage.errors import NotFoundError
from storage.models import AlertStatus, ArticleRecord, Counts, DigestEntry, MatchRecord

log = logging.getLogger("storage")

ALERT_STATUSES: tuple[AlertStatus, ...] = ("pending", "sent", "failed", "muted")


class ReadsStore(StoreBase):
    """Articles as records (with sources and matches), search, digest entries and counts."""

    # -- articles as records (their sources and matches) -----------------------------------
    def _sources_of(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {}
        for chunk, marks in in_lists(article_ids):
            for row in self._conn.execute(
                f"SELECT article_id, source FROM article_sources WHERE article_id IN ({marks}) "
                "ORDER BY first_seen_at, rowid",
                chunk,
            ):
                out.setdefault(row[0], []).append(row[1])
        return {k: tuple(v) for k, v in out.items()}

    def _matches_of(
        self, article_ids: Sequence[int], include_muted: bool = True
    ) -> dict[int, list[MatchRecord]]:
        out: dict[int, list[MatchRecord]] = {}
        muted_sql = "" if include_muted else " AND muted = 0"
        for chunk, marks in in_lists(article_ids):
            for row in self._rows(
                f"SELECT * FROM matches WHERE article_id IN ({marks}){muted_sql} ORDER BY id",
                chunk,
            ):
                out.setdefault(row["article_id"], []).append(_rows.to_match(row))
        return out

    def _articles(self, rows: list[Row]) -> list[ArticleRecord]:
        sources = self._sources_of([r["id"] for r in rows])
        return [_rows.to_article(r, sources.get(r["id"], ())) for r in rows]

    # -- search index, lookups, search -----------------------------------------------------
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
