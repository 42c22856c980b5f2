"""Conversions between SQLite rows and the records of :mod:`storage.models`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from rules.models import Evidence, RuleMatch
from storage.models import (
    AlertRecord,
    AlertStatus,
    ArticleRecord,
    Extraction,
    FetchLogEntry,
    FetchStatus,
    MatchRecord,
    Mute,
    SourceState,
)

Row = dict[str, Any]


def iso(value: datetime) -> str:
    """ISO-8601 UTC text with a fixed layout, so that text order is time order.
    A naive datetime is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def dt(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def dt_required(value: str) -> datetime:
    parsed = dt(value)
    assert parsed is not None
    return parsed


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def str_tuple(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(str(v) for v in json.loads(value))


def evidence_json(evidence: Iterable[Evidence]) -> str:
    return dumps(
        [
            {
                "field": e.field,
                "start": e.start,
                "end": e.end,
                "text": e.text,
                "term": e.term,
                "snippet": e.snippet,
            }
            for e in evidence
        ]
    )


def evidence_from_json(value: str | None) -> tuple[Evidence, ...]:
    if not value:
        return ()
    return tuple(
        Evidence(
            field=item["field"],
            start=int(item["start"]),
            end=int(item["end"]),
            text=item["text"],
            term=item["term"],
            snippet=item.get("snippet", ""),
        )
        for item in json.loads(value)
    )


def match_row(article_id: int, match: RuleMatch, now: datetime, muted: bool) -> Row:
    return {
        "article_id": article_id,
        "rule": match.rule,
        "name": match.name,
        "severity": match.severity,
        "tags": dumps(list(match.tags)),
        "evidence": evidence_json(match.evidence),
        "details": dumps([list(pair) for pair in match.details]),
        "amount_usd": match.amount_usd,
        "muted": int(muted),
        "matched_at": iso(now),
    }


def to_match(row: Row) -> MatchRecord:
    details = tuple((str(k), str(v)) for k, v in json.loads(row["details"] or "[]"))
    return MatchRecord(
        article_id=row["article_id"],
        rule=row["rule"],
        name=row["name"],
        severity=row["severity"],
        tags=str_tuple(row["tags"]),
        evidence=evidence_from_json(row["evidence"]),
        matched_at=dt_required(row["matched_at"]),
        amount_usd=row["amount_usd"],
        muted=bool(row["muted"]),
        details=details,
    )


def to_article(row: Row, sources: tuple[str, ...]) -> ArticleRecord:
    return ArticleRecord(
        id=row["id"],
        url=row["url"],
        canonical_url=row["canonical_url"],
        source=row["source"],
        title=row["title"],
        text=row["text"],
        first_seen_at=dt_required(row["first_seen_at"]),
        guid=row["guid"],
        summary=row["summary"] or "",
        published=dt(row["published"]),
        language=row["language"],
        author=row["author"],
        site_name=row["site_name"],
        extraction=cast(Extraction, row["extraction"] or "fulltext"),
        extraction_note=row["extraction_note"],
        sources=sources or (row["source"],),
        content_hash=row["content_hash"] or None,
        revision=row.get("revision") or 0,
        revised_at=dt(row.get("revised_at")),
    )


def to_alert(row: Row) -> AlertRecord:
    return AlertRecord(
        id=row["id"],
        article_id=row["article_id"],
        channel=row["channel"],
        rules=str_tuple(row["rules"]),
        status=cast(AlertStatus, row["status"]),
        created_at=dt_required(row["created_at"]),
        attempts=row["attempts"],
        next_attempt_at=dt(row["next_attempt_at"]),
        last_error=row["last_error"],
        sent_at=dt(row["sent_at"]),
        also_reported_by=str_tuple(row["also_reported_by"]),
        note=row["note"],
        horizon_from=dt(row.get("horizon_from")),
        claimed_by=row.get("claimed_by"),
        lease_until=dt(row.get("lease_until")),
        revision=row.get("revision") or 0,
    )


def to_source(row: Row) -> SourceState:
    return SourceState(
        name=row["name"],
        url=row["url"],
        kind=row["kind"],
        configured_url=row["configured_url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_attempt_at=dt(row["last_attempt_at"]),
        last_success_at=dt(row["last_success_at"]),
        last_error=row["last_error"],
        last_error_at=dt(row["last_error_at"]),
        failing_since=dt(row["failing_since"]),
        consecutive_failures=row["consecutive_failures"],
        next_poll_at=dt(row["next_poll_at"]),
        retired=bool(row["retired"]),
        items_seen=row["items_seen"],
        last_new_item_at=dt(row["last_new_item_at"]),
        retired_reason=row["retired_reason"],
    )


def to_fetch(row: Row) -> FetchLogEntry:
    return FetchLogEntry(
        source=row["source"],
        url=row["url"],
        at=dt_required(row["at"]),
        status=cast(FetchStatus, row["status"]),
        http_status=row["http_status"],
        error=row["error"],
        duration_ms=row["duration_ms"] or 0,
        items=row["items"] or 0,
        new_items=row["new_items"] or 0,
    )


def to_mute(row: Row) -> Mute:
    kind = row["kind"]
    assert kind in ("rule", "source")
    return Mute(
        kind=kind,
        target=row["target"],
        created_at=dt_required(row["created_at"]),
        until=dt(row["until"]),
    )
