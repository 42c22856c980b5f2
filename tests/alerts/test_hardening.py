"""Delivery hardening: leases across processes, mutes re-checked at delivery, the retry horizon
restarted by a manual retry, and when SMTP credentials may be sent. Real SQLite files, real
loopback servers, real subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage import Mute, SQLiteStore
from tests.alerts.helpers import NOW, AuthSMTPServer, email_channel, hook_config, make_config, seed
from tests.support.servers import Route, WebhookReceiver
from watcher.alerts import deliver_due
from watcher.alerts.deliver import lease_for, new_owner, stale_owners
from watcher.alerts.email import may_send_credentials, send_blocking
from watcher.config import Config, EmailAlert
from watcher.errors import DeliveryError

REPO = Path(__file__).resolve().parents[2]
LEASE = timedelta(minutes=10)


async def deliver(store: SQLiteStore, config: Config, now: Any = NOW, **kw: Any) -> Any:
    async with httpx.AsyncClient() as client:
        return await deliver_due(store, config, now, client=client, **kw)


# -- 1. leases ---------------------------------------------------------------------------------

_RACER = """
import asyncio, json, pathlib, sys, time
from datetime import datetime
from storage import open_store
from watcher.alerts import deliver_due
from watcher.config import parse_config

tmp, me = pathlib.Path(sys.argv[1]), sys.argv[2]
data = json.loads((tmp / "config.json").read_text())
config = parse_config(data, path=tmp / "watcher.toml", env={})
store = open_store(data["storage"]["path"])
(tmp / f"ready-{me}").touch()
while not (tmp / "go").exists():
    time.sleep(0.005)
report = asyncio.run(deliver_due(store, config, datetime.fromisoformat(sys.argv[3])))
print(json.dumps({"sent": report.sent, "elsewhere": report.claimed_elsewhere}))
"""


def test_processes_racing_on_one_outbox_deliver_each_alert_once(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    """Three real processes deliver from the same database at the same moment (as the daemon
    and a manual `watcher alerts deliver` would): every alert is accepted exactly once."""
    webhook.script = [Route(b"ok", delay=0.3)]  # slow enough that the rounds overlap
    ids = seed(store, 24)
    data = {
        "storage": {"path": str(tmp_path / "watcher.db")},
        "alert": [{"name": "hook", "kind": "webhook", "url": webhook.hook_url, "throttle": 0}],
    }
    (tmp_path / "config.json").write_text(json.dumps(data))
    (tmp_path / "racer.py").write_text(_RACER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(tmp_path / "racer.py"), str(tmp_path), str(i), NOW.isoformat()],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(3)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < len(procs):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.01)
        (tmp_path / "go").touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err.decode()
            results.append(json.loads(out))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    posts = webhook.posts()
    assert sorted(p.headers["x-watcher-delivery"] for p in posts) == sorted(ids)
    assert len(webhook.accepted()) == len(ids)
    assert sum(r["sent"] for r in results) == len(ids)
    # the rounds did overlap: some process found alerts due that another was sending
    assert sum(r["elsewhere"] for r in results) > 0, results
    assert {a.status for a in store.list_alerts(limit=100)} == {"sent"}
    assert all(a.claimed_by is None for a in store.list_alerts(limit=100))


async def test_another_owners_live_lease_is_respected_until_it_expires(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    config = hook_config(tmp_path, webhook.hook_url)
    [alert_id] = seed(store)
    # a round on another machine claimed it, then vanished
    assert store.claim_alerts([alert_id], "elsewhere.example:4242:abcd", NOW, LEASE)
    report = await deliver(store, config, NOW + timedelta(minutes=5))
    assert report.messages == 0 and report.claimed_elsewhere == 1
    assert "being delivered by another process" in report.summary()
    assert webhook.posts() == []
    report = await deliver(store, config, NOW + LEASE)  # expired: delivered, same id
    assert report.sent == 1
    assert [p.headers["x-watcher-delivery"] for p in webhook.posts()] == [alert_id]
    rec = store.get_alert(alert_id)
    assert rec.status == "sent" and rec.claimed_by is None


async def test_a_dead_process_on_this_host_is_taken_over_at_once(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    config = hook_config(tmp_path, webhook.hook_url)
    dead_id, alive_id = seed(store, 2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid is free
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = socket.gethostname()
        store.claim_alerts([dead_id], f"{host}:{dead.pid}:dead", NOW, LEASE)
        store.claim_alerts([alive_id], f"{host}:{alive.pid}:live", NOW, LEASE)
        assert stale_owners(store.pending_alerts(), NOW) == {f"{host}:{dead.pid}:dead"}
        report = await deliver(store, config, NOW + timedelta(seconds=1))
    finally:
        alive.kill()
        alive.wait()
    assert report.sent == 1 and report.claimed_elsewhere == 1
    assert [p.headers["x-watcher-delivery"] for p in webhook.posts()] == [dead_id]
    assert store.get_alert(alive_id).status == "pending"


async def test_a_round_releases_the_leases_it_did_not_settle(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    """Alerts held back (quiet hours) or left by a round that failed keep no lease."""
    config = hook_config(
        tmp_path, webhook.hook_url, quiet_hours="20:00-08:00", timezone="Asia/Shanghai"
    )
    [held] = seed(store)
    owner = new_owner()
    report = await deliver(store, config, owner=owner)
    assert report.deferred == 1
    assert store.get_alert(held).claimed_by is None

    class Boom(Exception):
        pass

    class BrokenClient(httpx.AsyncClient):
        async def send(self, *a: Any, **kw: Any) -> Any:
            raise Boom

    config = hook_config(tmp_path, webhook.hook_url)
    async with BrokenClient() as client:
        with pytest.raises(Boom):
            await deliver_due(store, config, NOW + timedelta(days=1), client=client, owner=owner)
    rec = store.get_alert(held)
    assert rec.status == "pending" and rec.claimed_by is None


def test_lease_covers_a_round_where_every_message_times_out(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        [
            {"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/", "timeout": 120},
            {"name": "flood", "kind": "webhook", "url": "http://127.0.0.1:9/", "throttle": 0},
            {"name": "log", "kind": "log"},
        ],
    )
    hook, flood, log_ch = config.alerts
    assert lease_for(log_ch, 10_000) == timedelta(minutes=10)
    # throttled: 20 singles and a batch, 8 at a time, each up to 120 s
    assert lease_for(hook, 10_000) == timedelta(seconds=2 * 120 * (3 + 1))
    assert lease_for(flood, 800) == timedelta(seconds=2 * 10 * (100 + 1))


# -- 2. mutes re-checked at delivery ----------------------------------------------------------


async def test_a_mute_added_after_queueing_applies_at_delivery(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    config = hook_config(tmp_path, webhook.hook_url)
    [all_muted] = seed(store, rules=("deepseek",))
    [partly] = seed(store, rules=("deepseek", "capex"), source="second-wire")
    [by_source] = seed(store, rules=("capex",), source="noisy-wire")
    [expired] = seed(store, rules=("llama",), source="fourth-wire")
    store.add_mute(Mute("rule", "deepseek", NOW))
    store.add_mute(Mute("source", "noisy-wire", NOW))
    store.add_mute(Mute("rule", "llama", NOW - timedelta(days=2), NOW - timedelta(days=1)))
    report = await deliver(store, config)
    assert report.muted == 2 and report.sent == 2 and "2 muted" in report.summary()
    bodies = {p.headers["x-watcher-delivery"]: json.loads(p.body) for p in webhook.posts()}
    assert set(bodies) == {partly, expired}
    assert [r["id"] for r in bodies[partly]["rules"]] == ["capex"]
    assert [r["id"] for r in bodies[expired]["rules"]] == ["llama"]
    rec = store.get_alert(partly)
    assert rec.status == "sent" and rec.note == "muted rule left out: deepseek"
    assert rec.rules == ("deepseek", "capex")  # the stored record keeps what matched
    for alert_id, why in ((all_muted, "rule deepseek"), (by_source, "source noisy-wire")):
        rec = store.get_alert(alert_id)
        assert rec.status == "muted" and rec.attempts == 0 and rec.claimed_by is None
        assert rec.note == f"muted at delivery: {why}"
    # unmuting does not resurrect what was muted; a manual retry does
    store.remove_mute("rule", "deepseek")
    assert (await deliver(store, config, NOW + timedelta(hours=1))).messages == 0
    store.retry_alert(all_muted, NOW + timedelta(hours=1))
    assert (await deliver(store, config, NOW + timedelta(hours=1))).sent == 1


async def test_muted_rules_are_left_out_of_a_batch_too(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    config = hook_config(tmp_path, webhook.hook_url, throttle=1)
    ids = seed(store, 3, rules=("deepseek", "capex"))
    store.add_mute(Mute("rule", "capex", NOW))
    report = await deliver(store, config)
    assert report.sent == 1 and report.batched == 2
    single, batch = (json.loads(p.body) for p in webhook.posts())
    assert [r["id"] for r in single["rules"]] == ["deepseek"]
    assert [a["rules"] for a in batch["alerts"]] == [["deepseek"], ["deepseek"]]
    notes = [store.get_alert(i).note or "" for i in ids]
    assert notes.count("muted rule left out: capex") == 1  # the single message
    batched = [n for n in notes if n.startswith("batch:")]
    assert len(batched) == 2 and all(n.endswith("; muted rule left out: capex") for n in batched)


# -- 3. a manual retry restarts the horizon ---------------------------------------------------


async def test_manual_retry_past_the_horizon_gets_a_fresh_horizon(
    tmp_path: Path, store: SQLiteStore, webhook: WebhookReceiver
) -> None:
    webhook.script = [Route(b"down", status=502, etag=False)]
    config = hook_config(tmp_path, webhook.hook_url, retry_horizon="2h")
    [alert_id] = seed(store)

    async def until_settled(now: Any) -> Any:
        for _ in range(60):
            await deliver(store, config, now)
            rec = store.get_alert(alert_id)
            if rec.status != "pending":
                return rec, now
            assert rec.next_attempt_at is not None
            now = rec.next_attempt_at
        raise AssertionError("never settled")

    rec, _ = await until_settled(NOW)
    assert rec.status == "failed"
    first_round = len(webhook.posts())
    assert first_round > 3

    retried_at = NOW + timedelta(hours=10)  # long past the original horizon
    store.retry_alert(alert_id, retried_at)
    rec, last = await until_settled(retried_at)
    assert rec.status == "failed" and "retry horizon" in (rec.last_error or "")
    second_round = len(webhook.posts()) - first_round
    assert second_round > 3  # not a single attempt: backoff ran again for 2 h
    assert retried_at + timedelta(hours=1) < last <= retried_at + timedelta(hours=2)

    webhook.script = [Route(b"ok")]
    store.retry_alert(alert_id, NOW + timedelta(days=3))
    await deliver(store, config, NOW + timedelta(days=3))
    assert store.get_alert(alert_id).status == "sent"


# -- 4. SMTP credentials only over TLS or to loopback -----------------------------------------


@pytest.mark.parametrize(
    ("host", "encrypted", "allowed"),
    [
        ("127.0.0.1", False, True),
        ("127.8.9.10", False, True),
        ("::1", False, True),
        ("[::1]", False, True),
        ("localhost", False, True),
        ("LocalHost.", False, True),
        ("smtp.example.org", False, False),
        ("localhost.example.org", False, False),
        ("127.0.0.1.example.org", False, False),
        ("192.0.2.25", False, False),
        ("10.0.0.1", False, False),
        ("0.0.0.0", False, False),
        ("::ffff:127.0.0.1", False, False),  # refused: safe side
        ("smtp.example.org", True, True),
        ("192.0.2.25", True, True),
    ],
)
def test_may_send_credentials(host: str, encrypted: bool, allowed: bool) -> None:
    assert may_send_credentials(host, encrypted) is allowed


def _message(ch: EmailAlert) -> Any:
    from watcher.alerts.email import build_message

    return build_message(ch, "hello", "text", None, now=NOW, msg_id=None)


@pytest.mark.parametrize("query", ["", "?tls=none"])
def test_credentials_go_in_clear_text_to_a_loopback_relay(tmp_path: Path, query: str) -> None:
    """Without STARTTLS on offer (or with tls=none) a 127.0.0.1 relay still gets AUTH."""
    with AuthSMTPServer("127.0.0.1") as server:
        ch = email_channel(tmp_path, f"smtp://127.0.0.1:{server.port}{query}")
        assert send_blocking(ch, [_message(ch)]) == [None]
    assert server.logins == [(b"watcher", b"pa55word")]
    assert len(server.messages) == 1


def _non_loopback_ipv4() -> str | None:
    """An address of this machine that is not loopback (a local interface, not the internet)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # UDP connect: no packet is sent
            addr = str(s.getsockname()[0])
    except OSError:
        return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def test_credentials_are_refused_over_clear_text_to_a_non_loopback_host(tmp_path: Path) -> None:
    host = _non_loopback_ipv4()
    if host is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    try:
        server = AuthSMTPServer(host)
    except OSError:
        pytest.skip(f"cannot listen on {host}")
    with server:
        ch = email_channel(tmp_path, f"smtp://{host}:{server.port}")
        with pytest.raises(DeliveryError) as err:
            send_blocking(ch, [_message(ch)])
    assert not err.value.retryable
    assert "refusing to send SMTP credentials" in err.value.reason
    assert server.logins == [] and server.messages == []
    assert "pa55word" not in str(err.value)
