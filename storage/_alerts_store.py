"""The alert outbox and the mutes of :class:`storage.sqlite.SQLiteStore`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from storage import _rows
from storage._base import StoreBase, _guarded, in_lists
from storage._rows import iso, iso_or_none
from storage.errors import NotFoundError
from storage.models import AlertRecord, AlertStatus, Mute

_NO_LEASE = ", claimed_by = NULL, lease_until = NULL"  # an outcome ends the delivery lease


class AlertsStore(StoreBase):
    """Outbox alerts (due, listed, claimed under a lease, marked) and mutes."""

    def _update_alert(self, alert_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE alerts SET {sets} WHERE id = :_id", {**fields, "_id": alert_id}
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no alert {alert_id!r}")

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
            for chunk, marks in in_lists(alert_ids):
                params: list[Any] = [owner, until, *chunk, stamp, owner, *holders]
                if due_only:
                    params.append(stamp)
                rows = conn.execute(
                    "UPDATE alerts SET claimed_by = ?, lease_until = ?"
                    f" WHERE id IN ({marks}) AND {cond} RETURNING id",
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
            for chunk, marks in in_lists(alert_ids):
                released += conn.execute(
                    "UPDATE alerts SET claimed_by = NULL, lease_until = NULL"
                    f" WHERE id IN ({marks}) AND claimed_by = ?",
                    [*chunk, owner],
                ).rowcount
        return released

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
