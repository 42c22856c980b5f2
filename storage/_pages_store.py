"""Revisions of stored articles and failed article pages (:class:`storage.sqlite.SQLiteStore`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rules.models import RuleMatch
from storage import _revise, _rows
from storage._base import StoreBase, _guarded, in_lists
from storage._rows import iso
from storage.errors import NotFoundError
from storage.models import ArticleRevision, PageCheck, PageState, RevisionOutcome


class PagesStore(StoreBase):
    """Page revisits (revision state, unchanged checks, revisions) and page retries."""

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
            for chunk, marks in in_lists(keys):
                conn.execute(f"DELETE FROM page_retries WHERE key IN ({marks})", chunk)
