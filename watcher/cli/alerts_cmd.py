"""``watcher alerts list|deliver|retry|test`` and ``watcher mute`` / ``watcher unmute``."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta
from typing import Any, get_args

import click

from storage.errors import NotFoundError
from storage.models import AlertRecord, AlertStatus, Mute
from watcher.cli.common import AppContext, handle_errors, pass_app, utcnow
from watcher.config import parse_duration

STATUSES = list(get_args(AlertStatus))


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt is not None else None


def _short(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt is not None else "-"


@click.group()
def alerts() -> None:
    """The alert outbox: list, deliver, retry, test a channel."""


@alerts.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
@click.option("--channel", default=None, help="Only this channel.")
@click.option("--limit", type=int, default=0, show_default=True, help="At most N (0: all).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_app
@handle_errors
def list_cmd(
    app: AppContext, status: AlertStatus | None, channel: str | None, limit: int, fmt: str
) -> None:
    """List alerts, newest first, with their article and delivery state."""
    store = app.store()
    records = store.list_alerts(status, limit=limit if limit > 0 else 10**9, channel=channel)
    titles: dict[int, tuple[str, str, str]] = {}
    for a in records:
        if a.article_id not in titles:
            art = store.get_article(a.article_id)
            titles[a.article_id] = (art.title, art.url, art.source)
    if fmt == "json":
        click.echo(
            json.dumps(
                [_as_json(a, titles[a.article_id]) for a in records], ensure_ascii=False, indent=2
            )
        )
        return
    for a in records:
        title, url, source = titles[a.article_id]
        when = (
            f"sent {_short(a.sent_at)}"
            if a.status == "sent"
            else f"next {_short(a.next_attempt_at)}"
            if a.status == "pending" and a.next_attempt_at
            else a.status
        )
        click.echo(f"{a.id}  {a.status:<7} {a.channel:<12} [{', '.join(a.rules)}] {title}")
        extra = [f"created {_short(a.created_at)}", when, f"attempts {a.attempts}", source]
        if a.also_reported_by:
            extra.append("also: " + ", ".join(a.also_reported_by))
        if a.note:
            extra.append(a.note)
        if a.last_error and a.status != "sent":
            extra.append(f"error: {a.last_error}")
        click.echo(f"    {url}\n    " + " · ".join(extra))
    counts = store.counts().alerts
    total = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    click.echo(f"{len(records)} shown; outbox: {total or 'empty'}")


def _as_json(a: AlertRecord, article: tuple[str, str, str]) -> dict[str, Any]:
    title, url, source = article
    return {
        "id": a.id,
        "status": a.status,
        "channel": a.channel,
        "rules": list(a.rules),
        "article_id": a.article_id,
        "title": title,
        "url": url,
        "source": source,
        "also_reported_by": list(a.also_reported_by),
        "created_at": _iso(a.created_at),
        "attempts": a.attempts,
        "next_attempt_at": _iso(a.next_attempt_at),
        "sent_at": _iso(a.sent_at),
        "last_error": a.last_error,
        "note": a.note,
        "horizon_from": _iso(a.horizon_start),
        "claimed_by": a.claimed_by,
        "lease_until": _iso(a.lease_until),
    }


@alerts.command("deliver")
@click.option("--now", "force", is_flag=True, help="Ignore backoff: try every pending alert.")
@pass_app
@handle_errors
def deliver_cmd(app: AppContext, force: bool) -> None:
    """Deliver the alerts that are due (throttling and quiet hours apply)."""
    from watcher.alerts.deliver import deliver_due

    config = app.config()
    store = app.store()
    report = asyncio.run(deliver_due(store, config, utcnow(), force=force))
    for name, rep in report.channels.items():
        line = (
            f"{name}: {rep.sent} sent, {rep.batched} batched, {rep.retried} to retry, "
            f"{rep.failed} failed, {rep.deferred_quiet + rep.deferred_throttle} held"
            + (f", {rep.muted} muted" if rep.muted else "")
        )
        click.echo(line)
        for err in dict.fromkeys(rep.errors):
            click.echo(f"    {err}")
    click.echo(report.summary())


@alerts.command("retry")
@click.argument("alert_id", required=False)
@click.option("--failed", "all_failed", is_flag=True, help="Retry every failed alert.")
@click.option("--force", is_flag=True, help="Also resend an alert that was already sent.")
@pass_app
@handle_errors
def retry_cmd(app: AppContext, alert_id: str | None, all_failed: bool, force: bool) -> None:
    """Put a failed (or muted) alert, or with --failed every failed one, back in the queue,
    due now, with a fresh retry horizon."""
    if bool(alert_id) == all_failed:
        raise click.UsageError("give an alert ID or --failed (not both)")
    store = app.store()
    now = utcnow()
    if all_failed:
        ids = [a.id for a in store.list_alerts("failed", limit=10**9)]
    else:
        assert alert_id is not None
        try:
            alert = store.get_alert(alert_id)
        except NotFoundError:
            click.echo(f"error: no alert {alert_id!r} (see `watcher alerts list`)", err=True)
            sys.exit(1)
        if alert.status == "sent" and not force:
            click.echo(
                f"error: alert {alert_id} was already sent {alert.sent_at:%Y-%m-%d %H:%M}; "
                "use --force to send it again",
                err=True,
            )
            sys.exit(1)
        ids = [alert_id]
    for i in ids:
        store.retry_alert(i, now)
    click.echo(f"{len(ids)} alert(s) queued again; `watcher alerts deliver` sends them now")


@alerts.command("test")
@click.argument("channel")
@pass_app
@handle_errors
def test_cmd(app: AppContext, channel: str) -> None:
    """Send a test message to CHANNEL (not stored in the outbox)."""
    from watcher.alerts.deliver import send_test

    result = asyncio.run(send_test(app.config(), channel, utcnow()))
    click.echo(f"{channel}: ok, {result}")


@click.command()
@click.argument("target", required=False)
@click.option(
    "--for", "duration", default=None, help="For how long, e.g. 2h or 2d (default: until unmuted)."
)
@click.option("--rule", "kind", flag_value="rule", help="TARGET is a rule id.")
@click.option("--source", "kind", flag_value="source", help="TARGET is a source name.")
@pass_app
@handle_errors
def mute(app: AppContext, target: str | None, duration: str | None, kind: str | None) -> None:
    """Mute a RULE or a SOURCE: its matches are stored but not alerted (the digest notes them).

    Without TARGET, list the active mutes. A configured source name is taken as a source,
    anything else as a rule id (or say --rule / --source).
    """
    store = app.store()
    now = utcnow()
    if target is None:
        mutes = store.active_mutes(now)
        for m in mutes:
            shown = f"until {_short(m.until)} UTC" if m.until else "until unmuted"
            click.echo(f"{m.kind:<6} {m.target}  {shown}")
        if not mutes:
            click.echo("nothing is muted")
        return
    sources = {s.name for s in app.config().sources} | {s.name for s in store.list_sources()}
    rule_ids = _rule_ids(app)
    if kind is None:
        if target in sources:
            kind = "source"
        elif rule_ids is None or target in rule_ids:
            kind = "rule"
        else:
            raise click.BadParameter(
                f"no rule or source named {target!r} (rules: {', '.join(sorted(rule_ids))}; "
                f"sources: {', '.join(sorted(sources)) or 'none'}); --rule/--source to insist",
                param_hint="TARGET",
            )
    elif kind == "rule" and rule_ids is not None and target not in rule_ids:
        click.echo(f"warning: no configured rule has the id {target!r}", err=True)
    until = None
    if duration is not None:
        try:
            until = now + timedelta(seconds=parse_duration(duration))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--for") from exc
    store.add_mute(Mute(kind, target, now, until))  # type: ignore[arg-type]
    when = f"until {_short(until)} UTC" if until else "until `watcher unmute`"
    click.echo(f"muted {kind} {target} {when}")


def _rule_ids(app: AppContext) -> set[str] | None:
    """The configured rule ids, or ``None`` when the rules cannot be loaded here."""
    try:
        from watcher.ruleload import load_ruleset

        return set(load_ruleset(app.config().rules).rule_ids)
    except Exception:  # a broken rule file must not prevent muting
        return None


@click.command()
@click.argument("target")
@pass_app
@handle_errors
def unmute(app: AppContext, target: str) -> None:
    """Unmute a rule or source muted with `watcher mute`."""
    store = app.store()
    removed = [k for k in ("rule", "source") if store.remove_mute(k, target)]
    if not removed:
        raise click.ClickException(f"{target} is not muted")
    click.echo(f"unmuted {' and '.join(removed)} {target}")


COMMANDS: list[click.Command] = [alerts, mute, unmute]
