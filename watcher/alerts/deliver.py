"""The outbox delivery loop: deliver what is due, per channel, with throttling, quiet hours,
retries with backoff and a retry horizon.

The SQLite outbox is the source of truth. An alert is marked sent only after its channel
accepted it (2xx, SMTP 250, or logged), right after that answer, so a crash in between repeats
at most the messages in flight (receivers drop repeats by ``X-Watcher-Delivery`` /
Message-ID, which are the alert id).

Before sending, a round leases its alerts in the store (:meth:`Store.claim_alerts`), so two
processes delivering from one database (the daemon and ``watcher alerts deliver``) never send
the same alert both. A crashed round's lease expires (or, on the same host, is taken over at
once when its process is gone); the alert is then sent again with the same id.
Mutes are checked again at delivery: an alert queued before a mute is not sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import random
import socket
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from storage.errors import NotFoundError
from storage.interface import Store
from storage.models import AlertRecord, ArticleRecord, MatchRecord, Mute
from watcher.alerts import email as mail
from watcher.alerts.formats import BATCH, SINGLE
from watcher.alerts.payload import AlertContent, BatchContent, build_content, sample_content
from watcher.alerts.policy import in_quiet_hours, next_attempt, quiet_hours_end, severity_rank
from watcher.alerts.webhook import USER_AGENT, post_webhook
from watcher.config import AlertConfig, Config, EmailAlert, LogAlert, WebhookAlert
from watcher.errors import DeliveryError

log = logging.getLogger("watcher.alerts")

WINDOW = timedelta(hours=1)  # the throttle window
BATCH_NOTE = "batch:"
MAX_DUE = 100_000  # alerts looked at per cycle
WEBHOOK_CONCURRENCY = 8  # messages in flight per webhook channel
SMTP_CHUNK = 50  # messages per SMTP session

LEASE_MIN = timedelta(minutes=10)  # shortest delivery lease a round takes on its alerts

# Alert ids being delivered by a deliver_due() of this process: a round started while another
# is still running (the daemon's timer and its post-poll round) leaves them alone. Across
# processes, the store's leases do the same.
_IN_FLIGHT: set[str] = set()
_IN_FLIGHT_LOCK = threading.Lock()
_HOST = socket.gethostname()


@dataclass
class ChannelReport:
    sent: int = 0  # alerts delivered in their own message
    batched: int = 0  # alerts delivered inside a batch message
    batches: int = 0
    retried: int = 0
    failed: int = 0
    deferred_quiet: int = 0
    deferred_throttle: int = 0
    muted: int = 0  # muted since the alert was queued: not sent, status "muted"
    errors: list[str] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return self.sent + self.batches


@dataclass
class DeliveryReport:
    channels: dict[str, ChannelReport] = field(default_factory=dict)
    unknown_channel: int = 0  # alerts for channels no longer configured (left pending)
    claimed_elsewhere: int = 0  # due alerts another process (or round) is delivering

    def _sum(self, name: str) -> int:
        return sum(int(getattr(c, name)) for c in self.channels.values())

    @property
    def sent(self) -> int:
        return self._sum("sent")

    @property
    def batched(self) -> int:
        return self._sum("batched")

    @property
    def messages(self) -> int:
        return self._sum("messages")

    @property
    def retried(self) -> int:
        return self._sum("retried")

    @property
    def failed(self) -> int:
        return self._sum("failed")

    @property
    def deferred(self) -> int:
        return self._sum("deferred_quiet") + self._sum("deferred_throttle")

    @property
    def muted(self) -> int:
        return self._sum("muted")

    def summary(self) -> str:
        return (
            f"{self.sent} sent, {self.batched} batched in {self._sum('batches')} message(s), "
            f"{self.retried} to retry, {self.failed} failed, {self.deferred} held"
            + (f", {self.muted} muted" if self.muted else "")
            + (f", {self.unknown_channel} for unknown channels" if self.unknown_channel else "")
            + (
                f", {self.claimed_elsewhere} being delivered by another process"
                if self.claimed_elsewhere
                else ""
            )
        )


@dataclass
class _Item:
    alert: AlertRecord
    content: AlertContent
    note: str | None = None  # e.g. the rules left out because they are muted now


class _Deliverer:
    def __init__(
        self,
        store: Store,
        now: datetime,
        client: httpx.AsyncClient,
        rng: random.Random,
        mutes: Sequence[Mute] = (),
    ) -> None:
        self.store = store
        self.now = now
        self.client = client
        self.rng = rng
        self.muted_rules = {m.target for m in mutes if m.kind == "rule"}
        self.muted_sources = {m.target for m in mutes if m.kind == "source"}
        self._articles: dict[int, tuple[ArticleRecord, list[MatchRecord]]] = {}

    # -- loading ---------------------------------------------------------------------------
    def load(self, alert: AlertRecord) -> tuple[ArticleRecord, list[MatchRecord]]:
        cached = self._articles.get(alert.article_id)
        if cached is None:
            article = self.store.get_article(alert.article_id)
            cached = (article, self.store.article_matches(alert.article_id))
            self._articles[alert.article_id] = cached
        return cached

    def item(self, alert: AlertRecord) -> _Item | str:
        """The alert ready to render, with the rules muted since it was queued left out; or,
        when its source or all its rules are muted now, the reason it is muted."""
        article, matches = self.load(alert)
        if article.source in self.muted_sources:
            return f"muted at delivery: source {article.source}"
        keep = tuple(r for r in alert.rules if r not in self.muted_rules)
        if not keep:
            return f"muted at delivery: rule {', '.join(alert.rules)}"
        note = None
        if len(keep) < len(alert.rules):
            dropped = [r for r in alert.rules if r not in keep]
            note = f"muted rule left out: {', '.join(dropped)}"
            alert = replace(alert, rules=keep)
        return _Item(alert, build_content(alert, article, matches), note)

    # -- outcomes --------------------------------------------------------------------------
    def sent(self, item: _Item, note: str | None = None) -> None:
        if item.note:
            note = f"{note}; {item.note}" if note else item.note
        self.store.mark_alert_sent(item.alert.id, self.now, note=note)
        log.debug("alert %s to %s delivered", item.alert.id, item.alert.channel)

    def failure(
        self, ch: AlertConfig, items: Sequence[_Item], err: DeliveryError, rep: ChannelReport
    ) -> None:
        rep.errors.append(err.reason)
        for it in items:
            a = it.alert
            when = (
                next_attempt(
                    self.now,
                    a.horizon_start,
                    a.attempts + 1,
                    ch.retry_horizon,
                    err.retry_after,
                    self.rng,
                )
                if err.retryable
                else None
            )
            if when is None:
                why = (
                    err.reason
                    if not err.retryable
                    else f"{err.reason} (gave up after the retry horizon)"
                )
                self.store.mark_alert_failed(a.id, self.now, why)
                rep.failed += 1
                log.warning("alert %s to %s failed: %s", a.id, ch.name, why)
            else:
                self.store.mark_alert_retry(a.id, self.now, err.reason, when)
                rep.retried += 1
                log.info("alert %s to %s: %s; retry at %s", a.id, ch.name, err.reason, when)

    # -- per channel -----------------------------------------------------------------------
    async def channel(
        self, ch: AlertConfig, alerts: Sequence[AlertRecord], rep: ChannelReport
    ) -> None:
        items: list[_Item] = []
        for a in alerts:
            try:
                it = self.item(a)
            except NotFoundError:
                self.store.mark_alert_failed(a.id, self.now, "article no longer stored")
                rep.failed += 1
                continue
            if isinstance(it, str):
                self.store.mark_alert_muted(a.id, self.now, it)
                rep.muted += 1
                log.info("alert %s to %s not sent: %s", a.id, ch.name, it)
            else:
                items.append(it)
        # quiet hours hold everything but high-severity alerts
        if in_quiet_hours(self.now, ch.quiet_hours, ch.timezone):
            assert ch.quiet_hours is not None
            until = quiet_hours_end(self.now, ch.quiet_hours, ch.timezone)
            keep = []
            for it in items:
                if it.content.severity == "high":
                    keep.append(it)
                else:
                    self.store.defer_alert(it.alert.id, until, "quiet hours")
                    rep.deferred_quiet += 1
            items = keep
        if not items:
            return
        # most severe first, then oldest first, for the individual slots
        items.sort(key=lambda it: (-severity_rank(it.content.severity), it.alert.created_at))
        single, overflow = items, []
        if ch.throttle_per_hour > 0:
            individual, last_batch = self.recent(ch.name)
            budget = max(0, ch.throttle_per_hour - individual)
            single, overflow = items[:budget], items[budget:]
            if overflow and last_batch is not None:
                until = last_batch + WINDOW
                for it in overflow:
                    self.store.defer_alert(it.alert.id, until, "throttled: waiting for next batch")
                rep.deferred_throttle += len(overflow)
                overflow = []
        await self.send_single(ch, single, rep)
        if overflow:
            await self.send_batch(ch, overflow, rep)

    def recent(self, channel: str) -> tuple[int, datetime | None]:
        """Individual messages sent to ``channel`` in the throttle window, and when the last
        batch message went out in it (``None``: no batch in the window)."""
        since = self.now - WINDOW
        # cheap indexed count first (the daemon asks every 30 s); then read just enough of the
        # newest sent alerts to split them into single and batched messages
        count = self.store.alerts_sent_since(channel, since)
        if count == 0:
            return 0, None
        individual = 0
        last_batch: datetime | None = None
        for a in self.store.list_alerts("sent", limit=count * 2 + 500, channel=channel):
            if a.sent_at is None or a.sent_at <= since:
                continue
            if (a.note or "").startswith(BATCH_NOTE):
                last_batch = a.sent_at if last_batch is None else max(last_batch, a.sent_at)
            else:
                individual += 1
        return individual, last_batch

    async def send_single(
        self, ch: AlertConfig, items: Sequence[_Item], rep: ChannelReport
    ) -> None:
        if not items:
            return
        if isinstance(ch, WebhookAlert):
            sem = asyncio.Semaphore(WEBHOOK_CONCURRENCY)

            async def one(it: _Item) -> None:
                async with sem:
                    try:
                        await post_webhook(
                            self.client, ch, SINGLE[ch.format](it.content), it.alert.id, self.now
                        )
                    except DeliveryError as err:
                        self.failure(ch, [it], err, rep)
                        return
                self.sent(it)
                rep.sent += 1

            await asyncio.gather(*(one(it) for it in items))
        elif isinstance(ch, EmailAlert):
            for start in range(0, len(items), SMTP_CHUNK):
                chunk = items[start : start + SMTP_CHUNK]
                msgs = [mail.alert_message(ch, it.content, self.now) for it in chunk]
                try:
                    results = await asyncio.to_thread(mail.send_blocking, ch, msgs)
                except DeliveryError as err:
                    self.failure(ch, chunk, err, rep)
                    continue
                for it, res in zip(chunk, results, strict=True):
                    if res is None:
                        self.sent(it)
                        rep.sent += 1
                    else:
                        self.failure(ch, [it], res, rep)
        else:
            for it in items:
                c = it.content
                log.info(
                    "ALERT %s [%s] %s <%s> (%s) why: %s",
                    c.alert_id,
                    ", ".join(c.rule_ids),
                    c.title,
                    c.url,
                    c.source,
                    c.why(),
                )
                self.sent(it)
                rep.sent += 1

    async def send_batch(self, ch: AlertConfig, items: Sequence[_Item], rep: ChannelReport) -> None:
        ids = sorted(it.alert.id for it in items)
        batch_id = "batch_" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
        batch = BatchContent(batch_id, ch.name, tuple(it.content for it in items))
        try:
            if isinstance(ch, WebhookAlert):
                await post_webhook(self.client, ch, BATCH[ch.format](batch), batch_id, self.now)
            elif isinstance(ch, EmailAlert):
                msg = mail.batch_message(ch, batch, self.now)
                [err] = await asyncio.to_thread(mail.send_blocking, ch, [msg])
                if err is not None:
                    raise err
            else:
                log.info(
                    "ALERT BATCH %s: %d more matching articles: %s",
                    batch_id,
                    batch.count,
                    "; ".join(f"{c.title} <{c.url}>" for c in batch.items),
                )
        except DeliveryError as err:
            self.failure(ch, items, err, rep)
            return
        for it in items:
            self.sent(it, note=BATCH_NOTE + batch_id)
        rep.batched += len(items)
        rep.batches += 1


def new_owner() -> str:
    """A lease owner id for one delivery round: ``host:pid:random``."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # no harmless probe (os.kill would terminate it on Windows)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, under another user
        return True
    return True


def stale_owners(alerts: Iterable[AlertRecord], now: datetime) -> set[str]:
    """Owners of live leases on ``alerts`` that are known dead: a round of this host whose
    process is gone (killed, crashed), or of this very process but no longer running (its
    alerts are not in flight here). Leases of other hosts are left to expire."""
    out: set[str] = set()
    for a in alerts:
        owner = a.claimed_by
        if owner is None or owner in out or a.lease_until is None or a.lease_until <= now:
            continue
        host, _, rest = owner.rpartition(":")[0].rpartition(":")
        pid = rest if host else ""
        if host != _HOST or not pid.isdigit():
            continue
        if int(pid) == os.getpid() or not _pid_alive(int(pid)):
            out.add(owner)
    return out


def lease_for(channel: AlertConfig, alerts: int) -> timedelta:
    """A generous bound on how long a round may take to deliver ``alerts`` to ``channel``
    (every message timing out), never under :data:`LEASE_MIN`."""
    messages = alerts
    if channel.throttle_per_hour > 0:
        messages = min(alerts, channel.throttle_per_hour + 1)
    seconds = 0.0
    if isinstance(channel, WebhookAlert):
        seconds = 2 * channel.timeout * (math.ceil(messages / WEBHOOK_CONCURRENCY) + 1)
    elif isinstance(channel, EmailAlert):
        seconds = 2 * channel.timeout * (messages + 3 * math.ceil(messages / SMTP_CHUNK))
    return max(LEASE_MIN, timedelta(seconds=seconds))


async def deliver_due(
    store: Store,
    config: Config,
    now: datetime,
    *,
    client: httpx.AsyncClient | None = None,
    force: bool = False,
    rng: random.Random | None = None,
    owner: str | None = None,
    lease: timedelta | None = None,
) -> DeliveryReport:
    """Deliver every due alert of the outbox (``force``: every pending one, ignoring backoff).

    The alerts are first leased to this round (``owner``, default :func:`new_owner`; for
    ``lease``, default :func:`lease_for` the largest channel's workload): those another
    process is delivering are left to it. A mute added since an alert was queued applies:
    an alert of a muted source, or whose rules are all muted, becomes ``muted``; otherwise
    the muted rules are left out of it.
    Per channel: quiet hours defer all but high-severity alerts; at most
    ``throttle_per_hour`` individual messages per rolling hour, the rest in ONE batch message
    (a further overflow in the same hour waits for the next batch); failures are retried with
    exponential backoff and jitter (Retry-After honoured) until the channel's retry horizon
    (counted from creation or the last manual retry), then marked failed. Never raises for a
    channel failure: see the returned report.
    """
    due = store.pending_alerts() if force else store.due_alerts(now, limit=MAX_DUE)
    with _IN_FLIGHT_LOCK:
        due = [a for a in due if a.id not in _IN_FLIGHT]
        reserved = {a.id for a in due}
        _IN_FLIGHT.update(reserved)
    owner = owner or new_owner()
    claimed: list[str] = []
    report = DeliveryReport()
    try:
        channels = {c.name: c for c in config.alerts}
        by_channel: dict[str, list[AlertRecord]] = {}
        for a in due:
            by_channel.setdefault(a.channel, []).append(a)
        for name, alerts in by_channel.items():
            if name not in channels:
                report.unknown_channel += len(alerts)
                log.warning(
                    "%d pending alert(s) for channel %r, which is not configured",
                    len(alerts),
                    name,
                )
        known = [a for a in due if a.channel in channels]
        if not known:
            return report
        if lease is None:
            lease = max(
                lease_for(channels[n], len(a)) for n, a in by_channel.items() if n in channels
            )
        claimed = store.claim_alerts(
            [a.id for a in known],
            owner,
            now,
            lease,
            due_only=not force,
            take_over=stale_owners(known, now),
        )
        mine = set(claimed)
        report.claimed_elsewhere = len(known) - len(mine)
        if report.claimed_elsewhere:
            log.info("%d due alert(s) are being delivered elsewhere", report.claimed_elsewhere)
        await _deliver(store, config, now, [a for a in known if a.id in mine], client, rng, report)
        return report
    finally:
        try:
            if claimed:
                store.release_alerts(claimed, owner)  # those left without an outcome
        finally:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.difference_update(reserved)


async def _deliver(
    store: Store,
    config: Config,
    now: datetime,
    due: Sequence[AlertRecord],
    client: httpx.AsyncClient | None,
    rng: random.Random | None,
    report: DeliveryReport,
) -> None:
    by_channel: dict[str, list[AlertRecord]] = {}
    for a in due:
        by_channel.setdefault(a.channel, []).append(a)
    channels = {c.name: c for c in config.alerts}
    work = [(channels[n], a) for n, a in by_channel.items()]
    if not work:
        return
    mutes = store.active_mutes(now)
    own = client is None
    http = client or httpx.AsyncClient(headers={"User-Agent": USER_AGENT})
    try:
        d = _Deliverer(store, now, http, rng or random.Random(), mutes)
        for ch, _ in work:
            report.channels[ch.name] = ChannelReport()
        await asyncio.gather(*(d.channel(ch, a, report.channels[ch.name]) for ch, a in work))
    finally:
        if own:
            await http.aclose()


async def send_test(
    config: Config, channel: str, now: datetime, *, client: httpx.AsyncClient | None = None
) -> str:
    """Send a clearly labelled test message to ``channel`` (not stored in the outbox).
    Returns a short description of what happened; raises :class:`DeliveryError`."""
    try:
        ch = config.alert(channel)
    except KeyError:
        names = ", ".join(a.name for a in config.alerts) or "none"
        raise DeliveryError(
            channel, f"no such channel (configured: {names})", retryable=False
        ) from None
    content = sample_content(channel, now)
    if isinstance(ch, WebhookAlert):
        own = client is None
        http = client or httpx.AsyncClient(headers={"User-Agent": USER_AGENT})
        try:
            status = await post_webhook(http, ch, SINGLE[ch.format](content), content.alert_id, now)
        finally:
            if own:
                await http.aclose()
        host = urlsplit(ch.url).hostname or "the webhook"  # the path may be a bearer secret
        return f"{host} answered HTTP {status}"
    if isinstance(ch, EmailAlert):
        msg = mail.alert_message(ch, content, now)
        [err] = await asyncio.to_thread(mail.send_blocking, ch, [msg])
        if err is not None:
            raise err
        return f"{ch.host}:{ch.port} accepted the message for {', '.join(ch.to)}"
    assert isinstance(ch, LogAlert)
    log.info("ALERT %s (test) %s", content.alert_id, content.title)
    return "written to the log"
