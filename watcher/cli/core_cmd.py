"""Core commands: ``run`` (the daemon), ``poll`` (one cycle), ``digest``, ``init``, ``demo``."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from watcher import heap
from watcher.cli.common import AppContext, handle_errors, pass_app, utcnow
from watcher.config import parse_duration

if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.pool import EarlyPool

DIGEST_FORMATS = ["text", "markdown", "html", "json"]


@click.command()
@pass_app
@handle_errors
def run(app: AppContext) -> None:
    """Run the daemon: poll every source on its schedule, alert, send the daily digest.

    Stops cleanly on SIGTERM/SIGINT. Logs go to stderr.
    """
    from watcher.daemon import Daemon, run_daemon

    config = app.config()
    ruleset = app.ruleset()
    store = app.store()
    heap.settle()  # what start-up built lives until exit: out of the collector's way
    run_daemon(Daemon(config, store, ruleset))


@click.command()
@click.option("--source", "source_names", multiple=True, help="Only this source (repeatable).")
@pass_app
@handle_errors
def poll(app: AppContext, source_names: tuple[str, ...]) -> None:
    """One full cycle: fetch, extract, match, store, deliver alerts; then exit.

    Exits 0 even when sources fail (they are reported); non-zero only when it cannot run.
    """
    config = app.config()
    unknown = [n for n in source_names if n not in {s.name for s in config.sources}]
    if unknown:
        raise click.BadParameter(f"no source named {', '.join(unknown)}", param_hint="--source")
    sources = [s for s in config.sources if not source_names or s.name in source_names]
    ruleset = app.ruleset()
    # The worker pool starts now when the poll will need it, so that its start-up overlaps the
    # imports, the database's and the poller's: for a new database (every source will answer
    # with a body to parse) or when a source has no ETag/Last-Modified stored yet. (Its
    # worker is the longest path of a first poll: bench/poll, cold, starting it before the
    # poller's imports instead of after gains ~0.06 s.)
    from watcher import pool

    early = None
    new_database = bool(sources) and not config.storage.path.expanduser().exists()
    if new_database:
        early = _start_pool_early(config, ruleset)
    from watcher.cycle import run_cycle

    store = app.store()
    if not new_database and pool.wanted_at_start(store, sources):
        early = _start_pool_early(config, ruleset)
    heap.settle()  # what start-up built lives until exit: out of the collector's way
    result = asyncio.run(
        run_cycle(config, store, ruleset, sources, utcnow(), clock=utcnow, early_pool=early)
    )
    click.echo(result.summary())


def _start_pool_early(config: Config, ruleset: object) -> EarlyPool | None:
    """The poller's pool, started before the poller (which adopts it: same size and rules)."""
    import pickle

    from watcher import pool

    try:
        pages = any(s.fetches_pages for s in config.sources)
        return pool.start_early(pool.default_workers(pages), lambda: pickle.dumps(ruleset), pages)
    except Exception:  # (unpicklable rules, no thread): the poller starts its pool itself
        return None


@click.command()
@click.option("--since", default=None, help="Period ending now, e.g. 24h (default) or 7d.")
@click.option("--date", "day", default=None, help="A calendar day YYYY-MM-DD (digest timezone).")
@click.option("--format", "fmt", type=click.Choice(DIGEST_FORMATS), default="text")
@click.option("--send", is_flag=True, help="Email it to the [digest] alerts channels.")
@pass_app
@handle_errors
def digest(app: AppContext, since: str | None, day: str | None, fmt: str, send: bool) -> None:
    """Show (or send) the digest of matched articles."""
    from watcher.digest import build_digest, period_for_date, render
    from watcher.digest_send import rule_names, send_digest

    if since and day:
        raise click.UsageError("use either --since or --date, not both")
    config = app.config()
    tz = config.digest.timezone
    now = utcnow()
    if day:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--date")
        try:
            start, end = period_for_date(date.fromisoformat(day), tz)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--date") from exc
    else:
        try:
            seconds = parse_duration(since or "24h")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from exc
        start, end = now - timedelta(seconds=seconds), now
    ruleset = app.ruleset()
    store = app.store()
    if send:
        if not config.digest.alerts:
            raise click.UsageError("no channel to send to: set [digest] alerts = [...]")
        result, sent = asyncio.run(send_digest(store, config, start, end, now, ruleset))
        click.echo(f"digest with {result.article_count} article(s) sent to {', '.join(sent)}")
        return
    result = build_digest(store, start, end, now, tz, rule_names(ruleset))
    click.echo(render(result, fmt), nl=False)  # type: ignore[arg-type]


@click.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), default="watcher.toml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter config to PATH (default: watcher.toml)."""
    from watcher.defaults import STARTER_TOML

    if path.exists() and not force:
        click.echo(f"error: {path} exists (use --force to overwrite)", err=True)
        sys.exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_TOML, encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then: watcher --config {path} run")


@click.command()
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep the demo database and config in this directory.",
)
def demo(keep: Path | None) -> None:
    """Run the whole path offline: serve bundled sample feeds on 127.0.0.1, poll them, show
    the alerts and the digest."""
    from watcher.demo import run_demo

    started = datetime.now()
    run_demo(keep, echo=click.echo)
    click.echo(f"demo finished in {(datetime.now() - started).total_seconds():.1f}s")


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", default=20, show_default=True, help="At most this many articles.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_app
@handle_errors
def search(app: AppContext, query: tuple[str, ...], limit: int, fmt: str) -> None:
    """Full-text search of stored articles (any script; "quoted phrases", OR)."""
    import json

    found = app.store().search(" ".join(query), limit=limit)
    if fmt == "json":
        rows = [
            {
                "id": a.id,
                "title": a.title,
                "url": a.url,
                "source": a.source,
                "sources": list(a.sources),
                "first_seen_at": a.first_seen_at.isoformat(),
                "published": a.published.isoformat() if a.published else None,
                "language": a.language,
            }
            for a in found
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for a in found:
        click.echo(f"{a.first_seen_at:%Y-%m-%d %H:%M}  {a.source:<20} {a.title}\n    {a.url}")
    click.echo(f"{len(found)} article(s)")


COMMANDS: list[click.Command] = [run, poll, digest, search, init, demo]
