"""Webhook bodies: generic JSON, Slack, Discord, Microsoft Teams (Adaptive Card) and ntfy.

Each renderer returns a :class:`Rendered` (body bytes, content type, extra headers). Feed text
is escaped for each target's markup and cut to its documented limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from typing import Any
from urllib.parse import quote

from watcher.alerts.payload import AlertContent, BatchContent, alert_json, batch_json, clean_line

BATCH_LIST = 15  # items listed by name in a chat batch message; the rest are counted


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _headline(c: AlertContent) -> str:
    return f"[{', '.join(c.rule_ids)}] {c.title}"


def _meta(c: AlertContent) -> str:
    bits = [c.source]
    if c.also_reported_by:
        bits.append("also reported by " + ", ".join(c.also_reported_by))
    if c.published is not None:
        bits.append(c.published.strftime("%Y-%m-%d %H:%M UTC"))
    if c.language:
        bits.append(c.language)
    return " · ".join(bits)


# -- generic JSON -------------------------------------------------------------------------------


def render_json(c: AlertContent) -> Rendered:
    return Rendered(_json(alert_json(c)), "application/json")


def render_json_batch(b: BatchContent) -> Rendered:
    return Rendered(_json(batch_json(b)), "application/json")


# -- Slack (incoming webhook, Block Kit) ----------------------------------------------------------


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    return f"<{url.replace('|', '%7C').replace('>', '%3E')}|{_slack_escape(label)}>"


def render_slack(c: AlertContent) -> Rendered:
    title = clean_line(c.title, 200)
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": clean_line(f"*{_slack_link(c.url, title)}*", 3000),
            },
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Why:* {_slack_escape(c.why())}\n>{_slack_escape(c.snippet)}"[:3000],
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(_meta(c))}]},
    ]
    fallback = _slack_escape(clean_line(_headline(c), 300))
    return Rendered(
        _json({"text": fallback, "blocks": blocks, "unfurl_links": False}), "application/json"
    )


def render_slack_batch(b: BatchContent) -> Rendered:
    lines = [
        f"• {_slack_link(c.url, clean_line(c.title, 150))} ({_slack_escape(', '.join(c.rule_ids))})"
        for c in b.items[:BATCH_LIST]
    ]
    if b.count > BATCH_LIST:
        lines.append(f"… and {b.count - BATCH_LIST} more (see `watcher alerts list`)")
    head = f"*{b.count} more matching articles* (over the alert limit for {b.window})"
    text = head + "\n" + "\n".join(lines)
    return Rendered(
        _json(
            {
                "text": f"{b.count} more matching articles",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
                "unfurl_links": False,
            }
        ),
        "application/json",
    )


# -- Discord (execute webhook, one embed) ---------------------------------------------------------

_NO_MENTIONS: dict[str, list[str]] = {"parse": []}


def _discord_escape(text: str) -> str:
    for ch in "\\*_~`|>[]()#":
        text = text.replace(ch, "\\" + ch)
    return text.replace("@", "@\u200b")


def render_discord(c: AlertContent) -> Rendered:
    embed: dict[str, Any] = {
        "title": clean_line(c.title, 256),
        "url": c.url,
        "description": clean_line(c.snippet, 1000),
        "fields": [
            {"name": "Rules", "value": clean_line(c.why(), 1024) or "-", "inline": False},
            {"name": "Source", "value": clean_line(_meta(c), 1024), "inline": False},
        ],
        "footer": {"text": f"alert {c.alert_id}"},
        "color": {"high": 0xD0021B, "normal": 0xF5A623}.get(c.severity, 0x4A90E2),
    }
    if c.published is not None:
        embed["timestamp"] = c.published.isoformat()
    content = _discord_escape(clean_line(", ".join(c.rule_ids), 200))
    return Rendered(
        _json({"content": content, "embeds": [embed], "allowed_mentions": _NO_MENTIONS}),
        "application/json",
    )


def render_discord_batch(b: BatchContent) -> Rendered:
    lines = [
        f"• [{_discord_escape(clean_line(c.title, 120))}]({c.url}) ({', '.join(c.rule_ids)})"
        for c in b.items[:BATCH_LIST]
    ]
    if b.count > BATCH_LIST:
        lines.append(f"… and {b.count - BATCH_LIST} more")
    embed = {
        "title": f"{b.count} more matching articles",
        "description": "\n".join(lines)[:4000],
        "footer": {"text": f"batch {b.batch_id} (over the alert limit for {b.window})"},
    }
    return Rendered(
        _json({"embeds": [embed], "allowed_mentions": _NO_MENTIONS}), "application/json"
    )


# -- Microsoft Teams (Workflows webhook: a message with an Adaptive Card) ----------------------


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> bytes:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return _json(
        {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    )


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def render_teams(c: AlertContent) -> Rendered:
    body = [
        _text(clean_line(c.title, 300), size="Medium", weight="Bolder"),
        _text("Why: " + clean_line(c.why(), 1000), isSubtle=False),
        _text(clean_line(c.snippet, 600)),
        _text(clean_line(_meta(c), 400), isSubtle=True, size="Small"),
    ]
    actions = [{"type": "Action.OpenUrl", "title": "Open article", "url": c.url}]
    return Rendered(_card(body, actions), "application/json")


def render_teams_batch(b: BatchContent) -> Rendered:
    body = [_text(f"{b.count} more matching articles", size="Medium", weight="Bolder")]
    for c in b.items[:BATCH_LIST]:
        body.append(_text(f"[{clean_line(c.title, 150)}]({c.url}) ({', '.join(c.rule_ids)})"))
    if b.count > BATCH_LIST:
        body.append(_text(f"… and {b.count - BATCH_LIST} more", isSubtle=True))
    return Rendered(_card(body, []), "application/json")


# -- ntfy (publish to a topic URL: plain-text body, metadata in headers) ------------------------


def _header_text(text: str) -> str:
    """HTTP header values must be ASCII: ntfy accepts RFC 2047 encoded words for the rest."""
    text = clean_line(text, 250)
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return Header(text, "utf-8").encode(maxlinelen=10_000).replace("\n", "").replace("\r", "")


def render_ntfy(c: AlertContent) -> Rendered:
    body = f"{c.snippet}\n\nWhy: {c.why()}\n{_meta(c)}\n{c.url}"
    headers = (
        ("Title", _header_text(_headline(c))),
        ("Tags", _header_text(",".join(c.rule_ids))),
        ("Click", quote(clean_line(c.url), safe=":/?#[]@!$&'()*+,;=%~")),
        ("Priority", {"high": "high", "normal": "default"}.get(c.severity, "low")),
    )
    return Rendered(body.encode("utf-8"), "text/plain; charset=utf-8", headers)


def render_ntfy_batch(b: BatchContent) -> Rendered:
    lines = [
        f"- {clean_line(c.title, 150)} ({', '.join(c.rule_ids)})" for c in b.items[:BATCH_LIST]
    ]
    if b.count > BATCH_LIST:
        lines.append(f"… and {b.count - BATCH_LIST} more")
    headers = (("Title", f"{b.count} more matching articles"), ("Tags", "batch"))
    return Rendered("\n".join(lines).encode("utf-8"), "text/plain; charset=utf-8", headers)


SINGLE: dict[str, Callable[[AlertContent], Rendered]] = {
    "json": render_json,
    "slack": render_slack,
    "discord": render_discord,
    "teams": render_teams,
    "ntfy": render_ntfy,
}
BATCH: dict[str, Callable[[BatchContent], Rendered]] = {
    "json": render_json_batch,
    "slack": render_slack_batch,
    "discord": render_discord_batch,
    "teams": render_teams_batch,
    "ntfy": render_ntfy_batch,
}
