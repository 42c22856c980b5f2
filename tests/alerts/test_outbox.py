"""deliver_due against a real SQLite outbox and real loopback servers, with faults injected.

Time is passed in: backoff is "waited" by advancing ``now``, never by sleeping.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage import SQLiteStore
from tests.alerts.helpers import ARABIC_TITLE, NOW, hook_config, make_config, seed
from tests.support.servers import LocalSMTPServer, Route, WebhookReceiver
from watcher.alerts import deliver_due, verify_signature
from watcher.config import Config


async def deliver(store: SQLiteStore, config: Config, now: Any = NOW, **kw: Any) -> Any:
    async with httpx.AsyncClient() as client:
        return await deliver_due(store, config, now, client=client, rng=random.Random(7), **kw)


async def test_500_three_times_then_200_delivers_once_with_the_same_id(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    webhook.script = [Route(b"boom", status=500, etag=False)] * 3 + [Route(b"ok")]
    config = hook_config(tmp_path, webhook.hook_url, secret="k")
    [alert_id] = seed(store)
    now = NOW
    for _ in range(4):
        await deliver(store, config, now)
        rec = store.get_alert(alert_id)
        if rec.status == "sent":
            break
        assert rec.status == "pending" and rec.next_attempt_at is not None
        assert rec.next_attempt_at > now  # backoff
        report = await deliver(store, config, now)  # not due yet: nothing is sent
        assert report.messages == 0
        now = rec.next_attempt_at
    posts = webhook.posts()
    assert len(posts) == 4
    assert {p.headers["x-watcher-delivery"] for p in posts} == {alert_id}
    assert len(webhook.accepted()) == 1
    assert store.get_alert(alert_id).status == "sent"
    await deliver(store, config, now + timedelta(days=1))
    assert len(webhook.posts()) == 4  # sent stays sent
    last = posts[-1]
    assert verify_signature(
        "k",
        last.headers["x-watcher-timestamp"],
        last.body,
        last.headers["x-watcher-signature"],
        now=now.timestamp(),
    )


async def test_hung_webhook_times_out_and_is_retried(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    webhook.script = [Route(b"slow", delay=2.0), Route(b"ok")]
    config = hook_config(tmp_path, webhook.hook_url, timeout=0.3)
    [alert_id] = seed(store)
    report = await deliver(store, config)
    assert report.retried == 1
    rec = store.get_alert(alert_id)
    assert rec.status == "pending" and "timed out" in (rec.last_error or "")
    assert rec.next_attempt_at is not None
    await deliver(store, config, rec.next_attempt_at)
    assert store.get_alert(alert_id).status == "sent"
    assert [p.headers["x-watcher-delivery"] for p in webhook.posts()] == [alert_id] * 2


@pytest.mark.parametrize("status", [404, 401])
async def test_404_and_401_are_failures_kept_and_retryable_by_hand(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver, status: int
) -> None:
    webhook.script = [Route(b"no", status=status, etag=False), Route(b"ok")]
    config = hook_config(tmp_path, webhook.hook_url)
    [alert_id] = seed(store)
    report = await deliver(store, config)
    assert report.failed == 1 and report.sent == 0
    rec = store.get_alert(alert_id)
    assert rec.status == "failed" and f"HTTP {status}" in (rec.last_error or "")
    assert [a.id for a in store.list_alerts("failed")] == [alert_id]
    store.retry_alert(alert_id, NOW)
    await deliver(store, config)
    assert store.get_alert(alert_id).status == "sent"


async def test_retry_after_is_honoured(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    webhook.script = [
        Route(b"busy", status=429, headers={"Retry-After": "900"}, etag=False),
        Route(b"ok"),
    ]
    config = hook_config(tmp_path, webhook.hook_url)
    [alert_id] = seed(store)
    await deliver(store, config)
    rec = store.get_alert(alert_id)
    assert rec.next_attempt_at is not None
    assert rec.next_attempt_at >= NOW + timedelta(seconds=900)
    await deliver(store, config, NOW + timedelta(seconds=899))
    assert len(webhook.posts()) == 1
    await deliver(store, config, rec.next_attempt_at)
    assert store.get_alert(alert_id).status == "sent"


async def test_force_ignores_backoff(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    webhook.script = [Route(b"boom", status=503, etag=False), Route(b"ok")]
    config = hook_config(tmp_path, webhook.hook_url)
    [alert_id] = seed(store)
    await deliver(store, config)
    assert (await deliver(store, config)).messages == 0
    assert (await deliver(store, config, force=True)).sent == 1
    assert store.get_alert(alert_id).status == "sent"


async def test_past_the_retry_horizon_the_alert_fails_and_is_kept(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    webhook.script = [Route(b"down", status=502, etag=False)]
    config = hook_config(tmp_path, webhook.hook_url, retry_horizon="2h")
    [alert_id] = seed(store)
    now = NOW
    for _ in range(50):
        await deliver(store, config, now)
        rec = store.get_alert(alert_id)
        if rec.status != "pending":
            break
        assert rec.next_attempt_at is not None
        assert rec.next_attempt_at <= NOW + timedelta(hours=2)
        now = rec.next_attempt_at
    assert rec.status == "failed" and "retry horizon" in (rec.last_error or "")
    assert 3 < len(webhook.posts()) < 50
    assert store.list_alerts("failed")[0].id == alert_id


async def test_smtp_down_then_up_delivers_once(tmp_path: Path, store: SQLiteStore) -> None:
    smtp = LocalSMTPServer()  # port reserved, not listening yet: the server is "down"
    config = make_config(
        tmp_path,
        [
            {
                "name": "mail",
                "kind": "email",
                "smtp": smtp.url,
                "from": "watcher@example.org",
                "to": ["analyst@example.org"],
                "timeout": 2,
            }
        ],
    )
    [alert_id] = seed(store, channels=("mail",), title=ARABIC_TITLE + " {i}")
    report = await deliver(store, config)
    assert report.retried == 1
    rec = store.get_alert(alert_id)
    assert rec.status == "pending" and rec.next_attempt_at is not None
    with smtp:
        await deliver(store, config, rec.next_attempt_at)
        await deliver(store, config, rec.next_attempt_at + timedelta(hours=1))
        [mail] = smtp.messages
    assert store.get_alert(alert_id).status == "sent"
    msg = mail.message
    assert msg["Subject"] == f"[deepseek] {ARABIC_TITLE} 0"
    assert alert_id in msg["Message-ID"]
    assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None


async def test_thousand_articles_give_at_most_throttle_plus_one_batch(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    config = hook_config(tmp_path, webhook.hook_url, throttle=20)
    ids = seed(store, 1000)
    report = await deliver(store, config)
    posts = webhook.posts()
    assert len(posts) == 21
    assert report.sent == 20 and report.batched == 980 and report.messages == 21
    batch = json.loads(posts[-1].body)
    assert batch["type"] == "batch" and batch["count"] == 980
    singles = {p.headers["x-watcher-delivery"] for p in posts[:-1]}
    assert singles | {a["id"] for a in batch["alerts"]} == set(ids)
    sent = store.list_alerts("sent", limit=5000)
    assert len(sent) == 1000 and {a.id for a in sent} == set(ids)
    assert sum(1 for a in sent if (a.note or "").startswith("batch:")) == 980

    # more news within the same hour: held for the next batch, not another flood
    later = seed(store, 30, now=NOW + timedelta(minutes=10), source="second-wire")
    report = await deliver(store, config, NOW + timedelta(minutes=10))
    assert report.messages == 0 and report.deferred == 30
    assert len(webhook.posts()) == 21
    held = store.get_alert(later[0])
    assert held.status == "pending" and held.next_attempt_at == NOW + timedelta(hours=1)
    # an hour later: a fresh budget
    report = await deliver(store, config, NOW + timedelta(hours=1))
    assert report.sent == 20 and report.batched == 10
    assert {a.status for a in store.list_alerts(limit=5000)} == {"sent"}


async def test_quiet_hours_hold_all_but_high_severity(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    # NOW is 12:00 UTC = 21:00 in Shanghai, inside 20:00-08:00
    config = hook_config(
        tmp_path, webhook.hook_url, quiet_hours="20:00-08:00", timezone="Asia/Shanghai"
    )
    [normal] = seed(store, 1)
    [high] = seed(store, 1, severity="high", source="urgent-wire")
    report = await deliver(store, config)
    assert report.sent == 1 and report.deferred == 1
    assert [p.headers["x-watcher-delivery"] for p in webhook.posts()] == [high]
    rec = store.get_alert(normal)
    assert rec.status == "pending" and rec.attempts == 0
    assert rec.next_attempt_at == NOW.replace(hour=0) + timedelta(days=1)  # 08:00 Shanghai
    assert (await deliver(store, config, NOW + timedelta(hours=6))).messages == 0
    await deliver(store, config, rec.next_attempt_at)
    assert store.get_alert(normal).status == "sent"


async def test_muted_alerts_are_stored_but_not_delivered(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    config = hook_config(tmp_path, webhook.hook_url)
    [muted] = seed(store, 1, muted_rules=("deepseek",))
    [loud] = seed(store, 1, source="other")
    await deliver(store, config, force=True)
    assert store.get_alert(muted).status == "muted"
    assert [p.headers["x-watcher-delivery"] for p in webhook.posts()] == [loud]


async def test_log_channel_prints_and_counts_as_delivered(
    tmp_path: Path, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, [{"name": "log", "kind": "log"}])
    [alert_id] = seed(store, channels=("log",), title="Invented headline {i}")
    with caplog.at_level(logging.INFO, logger="watcher.alerts"):
        report = await deliver(store, config)
    assert report.sent == 1
    assert store.get_alert(alert_id).status == "sent"
    assert any(
        "Invented headline 0" in r.getMessage() and r.name == "watcher.alerts"
        for r in caplog.records
    )


async def test_alerts_of_unconfigured_channels_stay_pending(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    config = hook_config(tmp_path, webhook.hook_url)
    [gone] = seed(store, channels=("removed",))
    report = await deliver(store, config)
    assert report.unknown_channel == 1
    assert store.get_alert(gone).status == "pending"


async def test_secret_is_never_logged(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.script = [Route(b"no", status=500, etag=False)]
    config = make_config(
        tmp_path,
        [{"name": "hook", "kind": "webhook", "url": webhook.hook_url, "secret": "env:S"}],
        env={"S": "hunter2-very-secret"},
    )
    seed(store)
    with caplog.at_level(logging.DEBUG):
        await deliver(store, config)
    assert "hunter2-very-secret" not in caplog.text
    assert "hunter2-very-secret" not in repr(config)


async def test_overlapping_rounds_in_one_process_do_not_send_twice(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    import asyncio

    webhook.script = [Route(b"ok", delay=0.3)]
    config = hook_config(tmp_path, webhook.hook_url)
    ids = seed(store, 3)
    async with httpx.AsyncClient() as client:
        a, b = await asyncio.gather(
            deliver_due(store, config, NOW, client=client),
            deliver_due(store, config, NOW, client=client),
        )
    assert a.sent + b.sent == 3
    assert sorted(p.headers["x-watcher-delivery"] for p in webhook.posts()) == sorted(ids)


async def test_story_from_two_sources_alerts_once_with_also_reported_by(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    from storage.models import NewArticle

    config = hook_config(tmp_path, webhook.hook_url)
    [alert_id] = seed(store)
    first = store.get_article(store.get_alert(alert_id).article_id)
    again = store.record_article(
        NewArticle(
            url=first.url + "?utm_source=x",
            canonical_url=first.canonical_url,
            source="second-wire",
            title=first.title,
            text=first.text,
        ),
        [],
        {"hook": ["deepseek"]},
        NOW,
    )
    assert not again.created and again.alert_ids == ()
    await deliver(store, config)
    [post] = webhook.posts()
    body = json.loads(post.body)
    assert body["id"] == alert_id
    assert body["article"]["source"] == "example-news"
    assert body["article"]["also_reported_by"] == ["second-wire"]
    assert body["rules"][0]["evidence"][0]["term"] == "deepseek"
