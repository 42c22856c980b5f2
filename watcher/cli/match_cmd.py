"""``watcher match``: run the configured rules on files, URLs or stdin and show the evidence."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from rules import Document, RuleMatch, RuleSet
from watcher.cli.common import AppContext, handle_errors, pass_app
from watcher.config import FetchConfig
from watcher.errors import WatcherError


@dataclass
class Loaded:
    """One input, read and (for HTML) extracted."""

    input: str
    title: str = ""
    text: str = ""
    language: str | None = None
    url: str = ""
    error: str | None = None


def looks_like_html(body: bytes, content_type: str | None = None) -> bool:
    if content_type:
        ct = content_type.split(";")[0].strip().lower()
        if ct in ("text/html", "application/xhtml+xml"):
            return True
        if ct.startswith("text/plain"):
            return False
    head = body[:2048].lstrip().lower()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    return (
        head.startswith((b"<!doctype html", b"<html", b"<?xml"))
        or b"<body" in head
        or (head.startswith(b"<") and (b"<p" in head or b"<div" in head or b"<head" in head))
    )


def decode_text(body: bytes) -> str:
    for enc in (
        ("utf-8-sig", "utf-16") if body[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",)
    ):
        try:
            return body.decode(enc)
        except UnicodeDecodeError:
            continue
    return body.decode("utf-8", errors="replace")


def load_body(name: str, body: bytes, url: str | None, content_type: str | None) -> Loaded:
    """Turn raw bytes into a document: HTML goes through the article extractor."""
    if looks_like_html(body, content_type):
        from watcher.extract import extract_article

        art = extract_article(body, url, content_type=content_type)
        return Loaded(name, art.title or "", art.text, art.language, url or "")
    return Loaded(name, "", decode_text(body), None, url or "")


async def _fetch_all(urls: list[str], cfg: FetchConfig) -> dict[str, Loaded]:
    from watcher.http import Fetcher, make_client

    out: dict[str, Loaded] = {}
    async with make_client(cfg) as client:
        fetcher = Fetcher(client, cfg)

        async def one(url: str) -> None:
            try:
                doc = await fetcher.fetch(url)
                out[url] = load_body(url, doc.body, doc.url, doc.headers.get("content-type"))
            except WatcherError as exc:
                out[url] = Loaded(url, error=str(exc))

        await asyncio.gather(*(one(u) for u in urls))
    return out


def load_inputs(inputs: tuple[str, ...], cfg: FetchConfig) -> list[Loaded]:
    """Read every input (``-`` is stdin, ``http(s)://`` a URL, anything else a file path)."""
    urls = [i for i in inputs if i.startswith(("http://", "https://"))]
    fetched = asyncio.run(_fetch_all(urls, cfg)) if urls else {}
    loaded: list[Loaded] = []
    for item in inputs:
        if item in fetched:
            loaded.append(fetched[item])
            continue
        try:
            if item == "-":
                body = sys.stdin.buffer.read()
            else:
                path = Path(item)
                if path.stat().st_size > cfg.max_bytes:
                    raise WatcherError(f"{item}: larger than {cfg.max_bytes} bytes")
                body = path.read_bytes()
            loaded.append(load_body(item, body, None, None))
        except OSError as exc:
            loaded.append(Loaded(item, error=f"{item}: {exc.strerror or exc}"))
        except WatcherError as exc:
            loaded.append(Loaded(item, error=str(exc)))
    return loaded


def match_json(item: Loaded, matches: list[RuleMatch]) -> dict[str, Any]:
    """The JSON object of one input (the schema documented in ``watcher match --help``)."""
    obj: dict[str, Any] = {
        "input": item.input,
        "title": item.title or None,
        "language": item.language,
        "matches": [
            {
                "rule": m.rule,
                "name": m.name,
                "severity": m.severity,
                "tags": list(m.tags),
                "amount_usd": m.amount_usd,
                "evidence": [
                    {
                        "field": e.field,
                        "text": e.text,
                        "start": e.start,
                        "end": e.end,
                        "term": e.term,
                        "snippet": e.snippet,
                    }
                    for e in m.evidence
                ],
            }
            for m in matches
        ],
    }
    if item.error:
        obj["error"] = item.error
    return obj


def format_text(item: Loaded, matches: list[RuleMatch]) -> str:
    head = f"== {item.input}"
    if item.title:
        head += f" — {item.title}"
    if item.language:
        head += f" [{item.language}]"
    lines = [head]
    if item.error:
        lines.append(f"  error: {item.error}")
    elif not matches:
        lines.append("  no match")
    for m in matches:
        extra = f", ~${m.amount_usd / 1e9:,.1f}B" if m.amount_usd else ""
        lines.append(f"  {m.rule}: {m.name} ({m.severity}{extra})")
        for e in m.evidence:
            lines.append(f"    {e.field}[{e.start}:{e.end}] {e.text!r} ← {e.term!r}")
            lines.append(f"      {e.snippet}")
    return "\n".join(lines)


def run_match(ruleset: RuleSet, item: Loaded) -> list[RuleMatch]:
    if item.error:
        return []
    return ruleset.match(
        Document(text=item.text, title=item.title, url=item.url, language=item.language)
    )


@click.command("match")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.argument("inputs", nargs=-1, required=True)
@pass_app
@handle_errors
def match(app: AppContext, fmt: str, inputs: tuple[str, ...]) -> None:
    """Run the configured rules on documents and show each match with its evidence.

    INPUTS are HTML or plain-text files, http(s) URLs, or - for stdin. HTML goes through the
    article extractor. JSON output is one object per input and line: {"input", "title",
    "language", "matches": [{"rule", "name", "severity", "tags", "amount_usd", "evidence":
    [{"field", "text", "start", "end", "term", "snippet"}]}]} ("error" when an input could not
    be read). Evidence offsets index the original field text. Exits 1 when an input failed.
    """
    from watcher.ruleload import load_ruleset

    config = app.config()
    ruleset = load_ruleset(config.rules)
    failed = False
    for item in load_inputs(inputs, config.fetch):
        try:
            found = run_match(ruleset, item)
        except WatcherError as exc:
            item.error, found = str(exc), []
        failed = failed or item.error is not None
        if fmt == "json":
            click.echo(json.dumps(match_json(item, found), ensure_ascii=False))
        else:
            click.echo(format_text(item, found))
    if failed:
        sys.exit(1)


COMMANDS: list[click.Command] = [match]
