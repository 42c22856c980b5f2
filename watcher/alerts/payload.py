"""What an alert says: the article, every rule it matched and why (term, matched text, snippet).

:class:`AlertContent` is built once from the outbox record, the stored article and its matches,
then rendered by each channel (generic JSON, chat formats, email). Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import AlertRecord, ArticleRecord, MatchRecord
from watcher.alerts.policy import severity_rank
from watcher.config import SEVERITIES

SCHEMA = "ai-news-watcher/alert@1"
BATCH_SCHEMA = "ai-news-watcher/batch@1"
SNIPPET_CHARS = 280
MAX_EVIDENCE = 5  # per rule, in payloads

_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    field: str
    text: str
    term: str
    start: int
    end: int
    snippet: str


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    name: str
    severity: str
    tags: tuple[str, ...] = ()
    evidence: tuple[EvidenceItem, ...] = ()
    amount_usd: float | None = None


@dataclass(frozen=True, slots=True)
class AlertContent:
    """Everything a channel needs to render one alert."""

    alert_id: str
    channel: str
    created_at: datetime
    url: str
    title: str
    source: str
    rules: tuple[RuleHit, ...]
    snippet: str = ""
    published: datetime | None = None
    language: str | None = None
    also_reported_by: tuple[str, ...] = ()
    extraction: str | None = None
    revision: int = 0  # > 0: the article changed after it was first alerted (watcher.revisions)

    @property
    def severity(self) -> str:
        if not self.rules:
            return SEVERITIES[0]
        return max((r.severity for r in self.rules), key=severity_rank)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.rule for r in self.rules)

    def why(self) -> str:
        """One line: ``deepseek ("DeepSeek"), capex ("$65 billion")``."""
        parts = []
        for r in self.rules:
            terms = list(dict.fromkeys(e.text for e in r.evidence))[:3]
            shown = ", ".join(f'"{clean_line(t)}"' for t in terms)
            parts.append(f"{r.rule} ({shown})" if shown else r.rule)
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class BatchContent:
    """Several alerts of one channel in one message (over the throttle)."""

    batch_id: str
    channel: str
    items: tuple[AlertContent, ...]
    window: str = "1h"

    @property
    def count(self) -> int:
        return len(self.items)


def clean_line(text: str, limit: int | None = None) -> str:
    """Collapse whitespace, drop control characters (CR, LF, NUL, ...), bidi overrides and lone
    surrogates; optionally cut to ``limit`` characters with an ellipsis. Safe for headers."""
    text = "".join(
        " " if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029\u0085") else c
        for c in text
        if c not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        and not 0xD800 <= ord(c) <= 0xDFFF  # lone surrogates cannot be encoded
    )
    text = _WS.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + "…"
    return text


def build_content(
    alert: AlertRecord, article: ArticleRecord, matches: Sequence[MatchRecord]
) -> AlertContent:
    """Assemble an alert from the outbox record, its article and the article's matches (only
    the rules of this alert, in the alert's order)."""
    by_rule = {m.rule: m for m in matches}
    hits: list[RuleHit] = []
    for rule in alert.rules:
        m = by_rule.get(rule)
        if m is None:
            hits.append(RuleHit(rule, rule, SEVERITIES[1]))
            continue
        ev = tuple(
            EvidenceItem(
                e.field, e.text, e.term, e.start, e.end, clean_line(e.snippet or e.text, 400)
            )
            for e in m.evidence[:MAX_EVIDENCE]
        )
        hits.append(RuleHit(m.rule, m.name, m.severity, m.tags, ev, m.amount_usd))
    sources = article.sources or (article.source,)
    also = tuple(
        dict.fromkeys(s for s in (*sources, *alert.also_reported_by) if s != article.source)
    )
    title = clean_line(article.title) or article.url
    return AlertContent(
        alert_id=alert.id,
        channel=alert.channel,
        created_at=alert.created_at,
        url=article.url,
        # an alert raised by a later revision says so in every format (subject, card, text)
        title=f"(updated) {title}" if alert.revision else title,
        source=article.source,
        rules=tuple(hits),
        snippet=_snippet(article, hits),
        published=article.published,
        language=article.language,
        also_reported_by=also,
        extraction=article.extraction,
        revision=alert.revision,
    )


def _snippet(article: ArticleRecord, hits: Sequence[RuleHit]) -> str:
    """The first evidence snippet from the text; else the summary; else the text's start."""
    for h in hits:
        for e in h.evidence:
            if e.field == "text" and e.snippet:
                return clean_line(e.snippet, SNIPPET_CHARS)
    return clean_line(article.summary or article.text[: SNIPPET_CHARS * 2], SNIPPET_CHARS)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt is not None else None


def article_json(c: AlertContent, *, snippet: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "url": c.url,
        "title": c.title,
        "source": c.source,
        "also_reported_by": list(c.also_reported_by),
        "published": _iso(c.published),
        "language": c.language,
        "revision": c.revision,
    }
    if snippet:
        out["snippet"] = c.snippet
    return out


def alert_json(c: AlertContent) -> dict[str, Any]:
    """The generic webhook body (documented in docs/alerts.md)."""
    return {
        "schema": SCHEMA,
        "type": "alert",
        "id": c.alert_id,
        "channel": c.channel,
        "created_at": _iso(c.created_at),
        "severity": c.severity,
        "article": article_json(c),
        "rules": [
            {
                "id": r.rule,
                "name": r.name,
                "severity": r.severity,
                "tags": list(r.tags),
                "amount_usd": r.amount_usd,
                "evidence": [
                    {
                        "field": e.field,
                        "text": e.text,
                        "term": e.term,
                        "start": e.start,
                        "end": e.end,
                        "snippet": e.snippet,
                    }
                    for e in r.evidence
                ],
            }
            for r in c.rules
        ],
    }


def batch_json(b: BatchContent) -> dict[str, Any]:
    """The generic webhook body of a batched message: every alert, in short form."""
    return {
        "schema": BATCH_SCHEMA,
        "type": "batch",
        "id": b.batch_id,
        "channel": b.channel,
        "count": b.count,
        "reason": f"more than the channel's throttle limit in {b.window}",
        "alerts": [
            {
                "id": c.alert_id,
                "severity": c.severity,
                "rules": list(c.rule_ids),
                "why": c.why(),
                "article": article_json(c, snippet=False),
            }
            for c in b.items
        ],
    }


def sample_content(channel: str, now: datetime) -> AlertContent:
    """A test alert for ``channel`` (``watcher alerts test``), clearly labelled as a test."""
    return AlertContent(
        alert_id=f"test-{channel}-{int(now.timestamp())}",
        channel=channel,
        created_at=now,
        url="https://example.org/ai-news-watcher/test",
        title="Test alert from AI News Watcher",
        source="watcher-test",
        rules=(
            RuleHit(
                "test",
                "Test rule",
                "low",
                ("test",),
                (EvidenceItem("title", "Test", "test", 0, 4, "Test alert from AI News Watcher"),),
            ),
        ),
        snippet="If you can read this, the channel works.",
        published=now,
        language="en",
    )
