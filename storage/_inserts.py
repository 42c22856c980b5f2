"""Rows written with a new article or a new revision: its matches and its outbox alerts.

Every function runs inside the caller's transaction on the caller's connection.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from rules.models import RuleMatch
from storage import _rows
from storage._rows import dumps

_MATCH_COLUMNS = (
    "article_id, rule, name, severity, tags, evidence, details, amount_usd, muted, matched_at"
)
_INSERT_MATCH = f"INSERT OR IGNORE INTO matches ({_MATCH_COLUMNS}) VALUES ({', '.join('?' * 10)})"


def new_alert_id() -> str:
    return "al_" + uuid.uuid4().hex[:20]


def insert_matches(
    conn: sqlite3.Connection,
    article_id: int,
    matches: Sequence[RuleMatch],
    now: datetime,
    muted: Collection[str],
) -> None:
    """Store ``matches`` of the article (those of ``muted`` rules marked muted)."""
    if matches:
        conn.executemany(
            _INSERT_MATCH,
            [tuple(_rows.match_row(article_id, m, now, m.rule in muted).values()) for m in matches],
        )


def insert_alerts(
    conn: sqlite3.Connection,
    article_id: int,
    alerts: Mapping[str, Sequence[str]],
    muted: Collection[str],
    stamp: str,
    *,
    revision: int = 0,
    only: Collection[str] | None = None,
) -> tuple[str, ...]:
    """One outbox alert per channel for its rules (those in ``only``, when given): status
    ``muted`` when all of them are muted, else ``pending``. Returns the new alert ids."""
    rows: list[tuple[str, int, str, str, str, str, str, int]] = []
    for channel, rule_ids in alerts.items():
        rules = [r for r in dict.fromkeys(rule_ids) if only is None or r in only]
        if not rules:
            continue
        status = "muted" if all(r in muted for r in rules) else "pending"
        rows.append(
            (new_alert_id(), article_id, channel, dumps(rules), status, stamp, stamp, revision)
        )
    if rows:
        conn.executemany(
            "INSERT INTO alerts (id, article_id, channel, rules, status, attempts,"
            " created_at, horizon_from, also_reported_by, revision)"
            " VALUES (?, ?, ?, ?, ?, 0, ?, ?, '[]', ?)",
            rows,
        )
    return tuple(r[0] for r in rows)
