"""Article revisions: SQL for revalidated and changed articles (used by :class:`SQLiteStore`).

Every function runs inside the caller's transaction on the caller's connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast

from rules.models import RuleMatch
from storage import _inserts, _rows
from storage._base import in_lists
from storage._rows import iso, iso_or_none
from storage.models import ArticleRevision, Extraction, PageCheck, PageState, RevisionOutcome

# match columns a revision refreshes for a rule it still matches (matched_at and muted stay)
_REFRESHED = ("name", "severity", "tags", "evidence", "details", "amount_usd")

_STATE_COLUMNS = (
    "id, url, first_seen_at, extraction, item_updated, page_etag, page_last_modified,"
    " checked_at, content_hash, revision, title"
)


def page_states(conn: sqlite3.Connection, article_ids: Sequence[int]) -> dict[int, PageState]:
    ids = list(dict.fromkeys(article_ids))
    out: dict[int, PageState] = {}
    for chunk, marks in in_lists(ids):
        sql = f"SELECT {_STATE_COLUMNS} FROM articles WHERE id IN ({marks})"
        for row in conn.execute(sql, chunk):
            out[int(row[0])] = PageState(
                article_id=int(row[0]),
                url=row[1],
                first_seen_at=_rows.dt_required(row[2]),
                extraction=cast(Extraction, row[3] or "fulltext"),
                item_updated=_rows.dt(row[4]),
                page_etag=row[5],
                page_last_modified=row[6],
                checked_at=_rows.dt(row[7]),
                content_hash=row[8],
                revision=int(row[9] or 0),
                title=row[10] or "",
            )
    return out


def mark_checked(conn: sqlite3.Connection, checks: Sequence[PageCheck], now: datetime) -> None:
    conn.executemany(
        "UPDATE articles SET checked_at = ?, item_updated = COALESCE(?, item_updated),"
        " page_etag = COALESCE(?, page_etag),"
        " page_last_modified = COALESCE(?, page_last_modified) WHERE id = ?",
        [
            (
                iso(now),
                iso_or_none(c.item_updated),
                c.page_etag,
                c.page_last_modified,
                c.article_id,
            )
            for c in checks
        ],
    )


def record_revision(
    conn: sqlite3.Connection,
    rev: ArticleRevision,
    matches: Sequence[RuleMatch],
    alerts: Mapping[str, Sequence[str]],
    now: datetime,
    muted_rules: Sequence[str],
) -> RevisionOutcome | None:
    """Store the new text, bump the revision, and bring the matches up to date: rules matched
    before and now get their new evidence, rules no longer matched are removed (their evidence
    pointed into the old text), new rules are added and get one alert per channel (``None``:
    no such article)."""
    stamp = iso(now)
    row = conn.execute(
        "UPDATE articles SET title = ?, text = ?, content_hash = ?, extraction = ?,"
        " extraction_note = NULL, language = COALESCE(?, language),"
        " item_updated = COALESCE(?, item_updated), page_etag = COALESCE(?, page_etag),"
        " page_last_modified = COALESCE(?, page_last_modified), checked_at = ?,"
        " revised_at = ?, revision = revision + 1 WHERE id = ? RETURNING revision",
        (
            rev.title,
            rev.text,
            rev.content_hash or None,
            rev.extraction,
            rev.language,
            iso_or_none(rev.item_updated),
            rev.page_etag,
            rev.page_last_modified,
            stamp,
            stamp,
            rev.article_id,
        ),
    ).fetchone()
    if row is None:
        return None
    revision = int(row[0])
    before = {
        r[0]
        for r in conn.execute("SELECT rule FROM matches WHERE article_id = ?", [rev.article_id])
    }
    fresh = [m for m in matches if m.rule not in before]
    muted = set(muted_rules)
    now_rules = {m.rule for m in matches}
    gone = [(rev.article_id, r) for r in before if r not in now_rules]
    if gone:
        conn.executemany("DELETE FROM matches WHERE article_id = ? AND rule = ?", gone)
    again = [m for m in matches if m.rule in before]
    if again:  # same rule, new text: new evidence, amount and details (first matched_at kept)
        rows = [_rows.match_row(rev.article_id, m, now, m.rule in muted) for m in again]
        conn.executemany(
            f"UPDATE matches SET {', '.join(f'{k} = ?' for k in _REFRESHED)}"
            " WHERE article_id = ? AND rule = ?",
            [(*(r[k] for k in _REFRESHED), r["article_id"], r["rule"]) for r in rows],
        )
    _inserts.insert_matches(conn, rev.article_id, fresh, now, muted)
    new_rules = {m.rule for m in fresh}
    alert_ids = _inserts.insert_alerts(
        conn, rev.article_id, alerts, muted, stamp, revision=revision, only=new_rules
    )
    return RevisionOutcome(
        article_id=rev.article_id,
        revision=revision,
        new_rules=tuple(m.rule for m in fresh),
        alert_ids=alert_ids,
    )
