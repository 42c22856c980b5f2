"""The daily digest: the period's matches grouped by rule, each article once with all its rules,
source(s), time, link and why it matched; plus muted matches and failing/stale sources.

``build_digest`` reads the store for a period passed in; ``render`` turns it into text,
markdown, HTML (self-contained, no external resources) or JSON.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from storage.interface import Store
from storage.models import DigestEntry, MatchRecord
from watcher.alerts.payload import clean_line
from watcher.health import SourceHealth, unhealthy

Format = Literal["text", "markdown", "html", "json"]
SEVERITY_RANK = {"high": 0, "normal": 1, "low": 2}
SNIPPET_CHARS = 240
TITLE_CHARS = 300


@dataclass(frozen=True)
class Why:
    rule: str
    term: str
    snippet: str


@dataclass(frozen=True)
class DigestItem:
    article_id: int
    title: str
    url: str
    source: str
    also_reported_by: tuple[str, ...]
    seen_at: datetime
    published: datetime | None
    language: str | None
    rules: tuple[str, ...]
    why: tuple[Why, ...]
    snippet: str


@dataclass(frozen=True)
class RuleGroup:
    rule: str
    name: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class Digest:
    start: datetime
    end: datetime
    timezone: ZoneInfo
    groups: tuple[RuleGroup, ...]
    muted: tuple[DigestItem, ...]
    unhealthy_sources: tuple[SourceHealth, ...]

    @property
    def article_count(self) -> int:
        return sum(len(g.items) for g in self.groups)


def period_for_date(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local calendar day ``day`` in ``tz`` as a [start, end) pair of aware datetimes."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start, start + timedelta(days=1)


def rolling_day(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The day before ``now`` by the local clock: [same wall-clock time yesterday, now).
    Across a DST change that is 23 or 25 hours, so consecutive daily digests neither overlap
    nor leave a gap."""
    return now.astimezone(tz) - timedelta(days=1), now


def build_digest(
    store: Store,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
    rule_names: Mapping[str, str] | None = None,
) -> Digest:
    """Collect the digest for articles first seen in [start, end)."""
    names = dict(rule_names or {})
    groups: dict[str, list[DigestItem]] = {}
    muted: list[DigestItem] = []
    for entry in store.digest_entries(start, end, include_muted=True):
        entry = _clean(entry)
        live = [m for m in entry.matches if not m.muted]
        item = _item(entry, live or list(entry.matches))
        if not live:
            muted.append(item)
            continue
        primary = min(live, key=lambda m: (SEVERITY_RANK.get(m.severity, 1), m.rule))
        groups.setdefault(primary.rule, []).append(item)
        for m in live:
            names.setdefault(m.rule, m.name)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return Digest(
        start=start,
        end=end,
        timezone=tz,
        groups=tuple(
            RuleGroup(rule, names.get(rule, rule), tuple(sorted(items, key=_newest_first)))
            for rule, items in ordered
        ),
        muted=tuple(muted),
        unhealthy_sources=tuple(unhealthy(store.list_sources(), now)),
    )


def _clean(entry: DigestEntry) -> DigestEntry:
    """Feed text is untrusted: one line, bounded length, no control or bidi characters."""
    a = entry.article
    title = clean_line(a.title, TITLE_CHARS)
    return entry if title == a.title else replace(entry, article=replace(a, title=title))


def _newest_first(item: DigestItem) -> tuple[float, int]:
    return (-item.seen_at.timestamp(), item.article_id)


def _item(entry: DigestEntry, matches: Sequence[MatchRecord]) -> DigestItem:
    a = entry.article
    why: list[Why] = []
    for m in matches:
        if m.evidence:
            ev = m.evidence[0]
            why.append(Why(m.rule, ev.term or ev.text, _clip(ev.snippet or ev.text)))
        else:
            why.append(Why(m.rule, "", ""))
    snippet = next((w.snippet for w in why if w.snippet), "") or _clip(a.summary or a.text)
    others = tuple(s for s in a.sources if s != a.source)
    title = a.title or a.url
    return DigestItem(
        article_id=a.id,
        title=f"(updated) {title}" if a.revision else title,
        url=a.url,
        source=a.source,
        also_reported_by=others,
        seen_at=max(a.first_seen_at, a.revised_at or a.first_seen_at),
        published=a.published,
        language=a.language,
        rules=tuple(m.rule for m in matches),
        why=tuple(why),
        snippet=snippet,
    )


def _clip(text: str, limit: int = SNIPPET_CHARS) -> str:
    return clean_line(text, limit)


# ---------------------------------------------------------------------------------------------
# Rendering


def render(digest: Digest, fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(to_json(digest), ensure_ascii=False, indent=2) + "\n"
    if fmt == "html":
        return _html(digest)
    return _text(digest, markdown=fmt == "markdown")


def day_label(digest: Digest) -> str:
    """The local date the digest is for: the day its period ends in (a calendar day given with
    ``--date`` ends at the next midnight, so it is that day)."""
    last = digest.end - timedelta(microseconds=1)
    return last.astimezone(digest.timezone).date().isoformat()


def subject(digest: Digest) -> str:
    day = day_label(digest)
    n = digest.article_count
    return f"AI News Watcher digest {day}: {n} article{'s' if n != 1 else ''}"


def _when(d: Digest, t: datetime) -> str:
    return t.astimezone(d.timezone).strftime("%Y-%m-%d %H:%M")


def _period(d: Digest) -> str:
    return f"{_when(d, d.start)} – {_when(d, d.end)} ({d.timezone.key})"


def _text(d: Digest, *, markdown: bool) -> str:
    h1, h2 = ("# ", "## ") if markdown else ("", "")
    out = [f"{h1}{subject(d)}", f"Period: {_period(d)}", ""]
    if not d.groups:
        out += ["No matching articles in this period.", ""]
    for g in d.groups:
        title = f"{g.name} ({g.rule})" if g.name != g.rule else g.rule
        out.append(f"{h2}{title} — {len(g.items)}" if markdown else f"== {title} — {len(g.items)}")
        out.append("")
        for it in g.items:
            out += _text_item(d, it, markdown)
    if d.muted:
        out.append(f"{h2}Muted" if markdown else "== Muted")
        out.append(f"{len(d.muted)} muted match(es) were stored but not alerted:")
        out += [f"- {it.title} ({', '.join(it.rules)})" for it in d.muted]
        out.append("")
    if d.unhealthy_sources:
        out.append(f"{h2}Source health" if markdown else "== Source health")
        for s in d.unhealthy_sources:
            since = f" since {_when(d, s.since)}" if s.since else ""
            out.append(f"- {s.name}: {s.state}{since}: {s.reason}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _text_item(d: Digest, it: DigestItem, markdown: bool) -> list[str]:
    head = f"- [{it.title}]({it.url})" if markdown else f"- {it.title}"
    lines = [head]
    meta = f"{it.source} · {_when(d, it.seen_at)}"
    if it.language:
        meta += f" · {it.language}"
    lines.append(f"  {meta} · rules: {', '.join(it.rules)}")
    if not markdown:
        lines.append(f"  {it.url}")
    if it.also_reported_by:
        lines.append(f"  also reported by: {', '.join(it.also_reported_by)}")
    for w in it.why:
        if w.term:
            lines.append(f"  why {w.rule}: “{w.term}” — {w.snippet}")
    lines.append("")
    return lines


def _html(d: Digest) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{e(subject(d))}</title></head>",
        '<body style="font-family:Arial,Helvetica,sans-serif;max-width:720px;margin:auto;'
        'color:#222">',
        f'<h1 style="font-size:20px">{e(subject(d))}</h1>',
        f'<p style="color:#666">{e(_period(d))}</p>',
    ]
    if not d.groups:
        parts.append("<p>No matching articles in this period.</p>")
    for g in d.groups:
        title = f"{g.name} ({g.rule})" if g.name != g.rule else g.rule
        parts.append(f'<h2 style="font-size:17px">{e(title)} — {len(g.items)}</h2><ul>')
        for it in g.items:
            meta = f"{it.source} · {_when(d, it.seen_at)} · rules: {', '.join(it.rules)}"
            parts.append(
                f'<li style="margin-bottom:12px"><a href="{e(it.url, quote=True)}" dir="auto">'
                f"{e(it.title)}</a><br>"
                f'<span style="color:#666;font-size:13px">{e(meta)}</span>'
            )
            if it.also_reported_by:
                parts.append(
                    f"<br><small>also reported by: {e(', '.join(it.also_reported_by))}</small>"
                )
            for w in it.why:
                if w.term:
                    parts.append(
                        f'<br><small dir="auto">why {e(w.rule)}: <b>{e(w.term)}</b> — '
                        f"{e(w.snippet)}</small>"
                    )
            parts.append("</li>")
        parts.append("</ul>")
    if d.muted:
        parts.append(
            f'<h2 style="font-size:17px">Muted</h2><p>{len(d.muted)} muted match(es):</p><ul>'
        )
        parts += [f"<li>{e(it.title)} ({e(', '.join(it.rules))})</li>" for it in d.muted]
        parts.append("</ul>")
    if d.unhealthy_sources:
        parts.append('<h2 style="font-size:17px">Source health</h2><ul>')
        for s in d.unhealthy_sources:
            since = f" since {_when(d, s.since)}" if s.since else ""
            parts.append(f"<li>{e(s.name)}: {e(s.state)}{e(since)}: {e(s.reason)}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _item_json(it: DigestItem) -> dict[str, Any]:
    return {
        "article_id": it.article_id,
        "title": it.title,
        "url": it.url,
        "source": it.source,
        "also_reported_by": list(it.also_reported_by),
        "seen_at": it.seen_at.isoformat(),
        "published": it.published.isoformat() if it.published else None,
        "language": it.language,
        "rules": list(it.rules),
        "why": [{"rule": w.rule, "term": w.term, "snippet": w.snippet} for w in it.why],
        "snippet": it.snippet,
    }


def to_json(d: Digest) -> dict[str, Any]:
    return {
        "start": d.start.isoformat(),
        "end": d.end.isoformat(),
        "timezone": d.timezone.key,
        "article_count": d.article_count,
        "groups": [
            {"rule": g.rule, "name": g.name, "articles": [_item_json(i) for i in g.items]}
            for g in d.groups
        ],
        "muted": [_item_json(i) for i in d.muted],
        "unhealthy_sources": [
            {
                "name": s.name,
                "url": s.url,
                "state": s.state,
                "since": s.since.isoformat() if s.since else None,
                "reason": s.reason,
            }
            for s in d.unhealthy_sources
        ],
    }
