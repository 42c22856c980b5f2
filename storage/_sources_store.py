"""Sources and the fetch log of :class:`storage.sqlite.SQLiteStore`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage import _rows
from storage._base import StoreBase, _guarded
from storage._rows import iso
from storage.errors import NotFoundError
from storage.models import FetchLogEntry, SourceDef, SourceState, SourceUpdate


class SourcesStore(StoreBase):
    """Configured sources (state, health, cache validators) and their fetch log."""

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
    def conditional_sources(self) -> dict[str, bool]:
        """Every stored source's name: whether its next poll needs no body to parse as far as
        the store knows (it has an ETag or a Last-Modified, or it is retired). One light query,
        for deciding at start-up whether a poll will parse anything."""
        rows = self._conn.execute(
            "SELECT name, retired OR coalesce(etag, '') != '' OR coalesce(last_modified, '') != ''"
            " FROM sources"
        )
        return {name: bool(ready) for name, ready in rows}

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
