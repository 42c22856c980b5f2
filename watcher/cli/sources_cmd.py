"""``watcher sources``: list sources with their health; ``add URL`` (feed autodiscovery),
``import FILE.opml`` and ``export`` (OPML 2.0)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from storage.urls import redacted
from watcher.cli.common import AppContext, handle_errors, pass_app, utcnow
from watcher.config import load_config
from watcher.errors import ConfigError, FetchError, ParseError, WatcherError
from watcher.opml import OpmlSource, parse_opml, source_name, unique_names, write_opml


def _ago(now: datetime, when: datetime | None) -> str:
    if when is None:
        return "never"
    secs = int((now - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} ago"
    return f"{max(secs, 0)}s ago"


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
@handle_errors
def sources(ctx: click.Context, fmt: str) -> None:
    """List sources with their health: last success, last error, items seen, failing since."""
    if ctx.invoked_subcommand is not None:
        return
    from watcher.health import source_health

    app: AppContext = ctx.find_object(AppContext)  # type: ignore[assignment]
    config = app.config()
    store = app.store()
    now = utcnow()
    states = {s.name: s for s in store.list_sources()}
    rows: list[dict[str, Any]] = []
    for src in config.sources:
        st = states.get(src.name)
        if st is None:
            rows.append(
                {"name": src.name, "kind": src.kind, "url": redacted(src.url), "state": "new"}
            )
            continue
        h = source_health(st, now)
        rows.append(
            {
                "name": src.name,
                "kind": src.kind,
                "url": h.url,  # (no password)
                "state": h.state,
                "since": h.since.isoformat() if h.since else None,
                "reason": h.reason,
                "last_success_at": st.last_success_at.isoformat() if st.last_success_at else None,
                "last_error": redacted(st.last_error) if st.last_error else None,
                "last_error_at": st.last_error_at.isoformat() if st.last_error_at else None,
                "consecutive_failures": st.consecutive_failures,
                "items_seen": st.items_seen,
                "next_poll_at": st.next_poll_at.isoformat() if st.next_poll_at else None,
            }
        )
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        st = states.get(r["name"])
        line = f"{r['name']:<28} {r['kind']:<7} {r['state'].upper():<8}"
        if st is not None:
            line += f" ok {_ago(now, st.last_success_at):<10} items {st.items_seen:<6}"
        click.echo(line + f" {r['url']}")
        if st is not None and r["state"] in ("failing", "stale", "retired") and r.get("reason"):
            since = st.failing_since if r["state"] == "failing" else None
            click.echo(f"{'':<28} since {_ago(now, since or st.last_error_at)}: {r['reason']}")


def _config_path(app: AppContext) -> Path:
    if app.config_path is None:
        raise click.UsageError(
            "no config file: use --config PATH (or WATCHER_CONFIG); `watcher init` writes one"
        )
    return app.config_path


def _toml_str(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, everything
    else (non-BMP characters included) written as is; a lone surrogate becomes U+FFFD."""
    out = []
    for ch in value:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_block(
    name: str,
    url: str,
    kind: str,
    every: str | None,
    fulltext: bool,
    category: tuple[str, ...] = (),
) -> str:
    lines = ["", "[[source]]", f"name = {_toml_str(name)}", f"url = {_toml_str(url)}"]
    if kind != "feed":
        lines.append(f"kind = {_toml_str(kind)}")
    if every:
        lines.append(f"every = {_toml_str(every)}")
    if not fulltext:
        lines.append("fulltext = false")
    parts = [c for c in (p.strip() for p in category) if c]
    if len(parts) == 1:
        lines.append(f"category = {_toml_str(parts[0])}")
    elif parts:
        lines.append(f"category = [{', '.join(_toml_str(c) for c in parts)}]")
    return "\n".join(lines) + "\n"


def _feed_url(url: str) -> str | None:
    """An outline's ``xmlUrl`` as an http(s) URL (``feed://`` and ``feed:https://`` are
    rewritten), or ``None`` when it cannot be a source."""
    from urllib.parse import urlsplit

    if url.lower().startswith("feed:"):
        rest = url[5:]
        url = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return None
    if not ok or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return None
    return url


def _append_sources(path: Path, blocks: list[str]) -> None:
    """Append ``[[source]]`` blocks; undo if the result does not validate."""
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    text = original if original.endswith("\n") or not original else original + "\n"
    path.write_text(text + "".join(blocks), encoding="utf-8")
    try:
        load_config(path)
    except ConfigError:
        path.write_text(original, encoding="utf-8")
        raise


@sources.command("add")
@click.argument("url")
@click.option("--name", default=None, help="Source name (default: from the feed title).")
@click.option(
    "--kind",
    type=click.Choice(["auto", "feed", "page", "sitemap"]),
    default="auto",
    help="auto: find the site's feed (autodiscovery, common paths), else watch it as a page.",
)
@click.option("--every", default=None, help="Polling interval, e.g. 15m or auto.")
@click.option("--no-fulltext", is_flag=True, help="Use the feed's own text, fetch no pages.")
@pass_app
@handle_errors
def add(
    app: AppContext, url: str, name: str | None, kind: str, every: str | None, no_fulltext: bool
) -> None:
    """Add a source to the config file; for a site URL, discover its feed."""
    path = _config_path(app)
    config = app.config()
    title = ""
    if kind == "auto":
        from watcher.discovery import discover_feed
        from watcher.http import Fetcher, make_client

        async def find() -> tuple[str, str]:
            async with make_client(config.fetch) as client:
                return await discover_feed(Fetcher(client, config.fetch), url)

        try:
            url, title = asyncio.run(find())
            kind = "feed"
        except ParseError as exc:
            click.echo(
                f"no feed found ({redacted(str(exc))}); adding it as a page source", err=True
            )
            kind = "page"
        except FetchError as exc:
            raise WatcherError(f"cannot read {redacted(exc.url)}: {redacted(exc.reason)}") from exc
    if any(s.url == url for s in config.sources):
        raise click.UsageError(f"{url} is already a source")
    taken = {s.name for s in config.sources}
    if name is None:
        name = unique_names([OpmlSource(title or source_name("", url), url)], taken)[0]
    elif name in taken:
        raise click.UsageError(f"a source named {name!r} already exists")
    _append_sources(path, [_toml_block(name, url, kind, every, not no_fulltext)])
    click.echo(f"added {name} ({kind}): {redacted(url)}")


@sources.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-fulltext", is_flag=True, help="Import them with fulltext = false.")
@pass_app
@handle_errors
def import_(app: AppContext, file: Path, no_fulltext: bool) -> None:
    """Import the feeds of an OPML file (nested outlines too) into the config file."""
    path = _config_path(app)
    config = app.config()
    entries = parse_opml(file.read_bytes())
    known = {s.url for s in config.sources}
    fresh: list[OpmlSource] = []
    present = skipped = 0
    for e in entries:
        url = _feed_url(e.url)
        if url is None:
            skipped += 1
            click.echo(f"skipped {e.title!r}: {e.url!r} is not an http(s) feed URL", err=True)
            continue
        if url in known:
            present += 1
            continue
        known.add(url)
        fresh.append(dataclasses.replace(e, url=url))
    names = unique_names(fresh, {s.name for s in config.sources})
    blocks = [
        _toml_block(
            n,
            e.url,
            e.kind if e.kind in ("feed", "page", "sitemap") else "feed",
            None,
            not no_fulltext,
            e.category,
        )
        for n, e in zip(names, fresh, strict=True)
    ]
    if blocks:
        _append_sources(path, blocks)
    click.echo(
        f"imported {len(blocks)} source(s), {present} already present"
        + (f", {skipped} skipped" if skipped else "")
    )


@sources.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@pass_app
@handle_errors
def export(app: AppContext, output: Path | None) -> None:
    """Write the configured sources as OPML 2.0 (to stdout or --output)."""
    config = app.config()
    data = write_opml([OpmlSource(s.name, s.url, None, s.category, s.kind) for s in config.sources])
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {len(config.sources)} source(s) to {output}", err=True)


COMMANDS: list[click.Command] = [sources]
