"""The alerts CLI in-process (CliRunner), plus one real subprocess killed with SIGKILL while its
delivery is in flight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from storage import open_store
from tests.alerts.helpers import seed
from tests.support.servers import LocalSMTPServer, Route, WebhookReceiver
from watcher.cli import main

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, alert_toml: str) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "watcher.db"}"\n\n'
        '[[source]]\nname = "example-news"\nurl = "http://127.0.0.1:9/feed"\n\n' + alert_toml,
        encoding="utf-8",
    )
    return path


def hook_toml(url: str, extra: str = "") -> str:
    return f'[[alert]]\nname = "hook"\nkind = "webhook"\nurl = "{url}"\n{extra}\n'


def run(cfg: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(cfg), *args], catch_exceptions=False)
    return result.exit_code, result.output


def seed_now(tmp_path: Path, n: int = 1, **kw: object) -> list[str]:
    store = open_store(tmp_path / "watcher.db")
    try:
        return seed(store, n, now=datetime.now(UTC), **kw)  # type: ignore[arg-type]
    finally:
        store.close()


def test_deliver_list_retry_and_json(tmp_path: Path, webhook: WebhookReceiver) -> None:
    webhook.script = [Route(b"gone", status=404, etag=False), Route(b"ok")]
    cfg = write_config(tmp_path, hook_toml(webhook.hook_url))
    [alert_id] = seed_now(tmp_path)
    code, out = run(cfg, "alerts", "deliver")
    assert code == 0 and "1 failed" in out and "HTTP 404" in out
    code, out = run(cfg, "alerts", "list", "--status", "failed")
    assert alert_id in out and "HTTP 404" in out and "failed=1" in out
    code, out = run(cfg, "alerts", "retry", "--failed")
    assert code == 0 and "1 alert(s)" in out
    code, out = run(cfg, "alerts", "deliver", "--now")
    assert "1 sent" in out
    code, out = run(cfg, "alerts", "list", "--format", "json")
    [row] = json.loads(out)
    assert row["id"] == alert_id and row["status"] == "sent" and row["rules"] == ["deepseek"]
    assert (
        row["url"].startswith("https://news.example.org/") and row["attempts"] == 1
    )  # counter restarts on a manual retry
    assert [p.headers["x-watcher-delivery"] for p in webhook.posts()] == [alert_id] * 2
    # a sent alert is not resent by accident
    code, out = run(cfg, "alerts", "retry", alert_id)
    assert code == 1 and "already sent" in out and "--force" in out
    code, out = run(cfg, "alerts", "retry", alert_id, "--force")
    assert code == 0
    code, out = run(cfg, "alerts", "deliver")
    assert len(webhook.posts()) == 3


def test_retry_needs_exactly_one_target(tmp_path: Path, webhook: WebhookReceiver) -> None:
    cfg = write_config(tmp_path, hook_toml(webhook.hook_url))
    code, out = run(cfg, "alerts", "retry")
    assert code != 0
    code, out = run(cfg, "alerts", "retry", "al_nope")
    assert code == 1 and "no alert" in out


def test_alerts_test_webhook_and_email(
    tmp_path: Path, webhook: WebhookReceiver, smtp_server: LocalSMTPServer
) -> None:
    cfg = write_config(
        tmp_path,
        hook_toml(webhook.hook_url, 'format = "slack"')
        + f'[[alert]]\nname = "mail"\nkind = "email"\nsmtp = "{smtp_server.url}"\n'
        'from = "watcher@example.org"\nto = ["analyst@example.org"]\n',
    )
    code, out = run(cfg, "alerts", "test", "hook")
    assert code == 0 and "HTTP 200" in out
    assert "Test alert" in json.loads(webhook.posts()[0].body)["text"]
    code, out = run(cfg, "alerts", "test", "mail")
    assert code == 0 and len(smtp_server.messages) == 1
    code, out = run(cfg, "alerts", "test", "nope")
    assert code == 1 and "no such channel" in out


def test_alerts_test_reports_a_failing_channel(tmp_path: Path, webhook: WebhookReceiver) -> None:
    webhook.script = [Route(b"denied", status=401, etag=False)]
    cfg = write_config(tmp_path, hook_toml(webhook.hook_url))
    code, out = run(cfg, "alerts", "test", "hook")
    assert code == 1 and "HTTP 401" in out


def test_mute_and_unmute(tmp_path: Path, webhook: WebhookReceiver) -> None:
    cfg = write_config(tmp_path, hook_toml(webhook.hook_url))
    code, out = run(cfg, "mute", "deepseek", "--for", "2d")
    assert code == 0 and "muted rule deepseek until" in out
    code, out = run(cfg, "mute", "example-news")
    assert "muted source example-news until `watcher unmute`" in out
    code, out = run(cfg, "mute")
    assert "rule   deepseek" in out and "source example-news" in out
    store = open_store(tmp_path / "watcher.db")
    try:
        now = datetime.now(UTC)
        mutes = {(m.kind, m.target): m for m in store.active_mutes(now)}
        until = mutes[("rule", "deepseek")].until
        assert until is not None and 47 * 3600 < (until - now).total_seconds() <= 48 * 3600
        assert mutes[("source", "example-news")].until is None
    finally:
        store.close()
    assert run(cfg, "unmute", "deepseek")[0] == 0
    assert run(cfg, "unmute", "example-news")[0] == 0
    code, out = run(cfg, "mute")
    assert "nothing is muted" in out
    code, out = run(cfg, "unmute", "deepseek")
    assert code != 0 and "not muted" in out
    code, out = run(cfg, "mute", "deepseek", "--for", "soon")
    assert code != 0
    code, out = run(cfg, "mute", "deepsek")  # a typo is refused, with the choices
    assert code != 0 and "no rule or source named 'deepsek'" in out and "deepseek" in out
    code, out = run(cfg, "mute", "--rule", "future-rule")
    assert code == 0 and "muted rule future-rule" in out


def test_mute_after_queueing_then_deliver_mutes_the_alert(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    cfg = write_config(tmp_path, hook_toml(webhook.hook_url))
    [alert_id] = seed_now(tmp_path)  # queued before the mute
    assert run(cfg, "mute", "deepseek")[0] == 0
    code, out = run(cfg, "alerts", "deliver")
    assert code == 0 and "0 sent" in out and "1 muted" in out
    assert webhook.posts() == []
    _, out = run(cfg, "alerts", "list", "--status", "muted")
    assert alert_id in out and "muted at delivery: rule deepseek" in out


def test_sigkill_during_delivery_then_restart_delivers_with_same_id(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    """A real `python -m watcher alerts deliver` is killed while its POST is in flight; after a
    restart the alert is delivered with the same X-Watcher-Delivery id; nothing is lost."""
    webhook.script = [Route(b"slow", delay=20.0), Route(b"ok")]
    cfg = write_config(tmp_path, hook_toml(webhook.hook_url, "timeout = 60"))
    [alert_id] = seed_now(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "--config", str(cfg), "alerts", "deliver"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not webhook.posts() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert webhook.posts(), proc.stderr.read().decode() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = open_store(tmp_path / "watcher.db")
    try:
        assert store.get_alert(alert_id).status == "pending"
    finally:
        store.close()
    code, out = run(cfg, "alerts", "deliver")
    assert code == 0
    assert "1 sent" in out
    posts = webhook.posts()
    assert [p.headers["x-watcher-delivery"] for p in posts] == [alert_id, alert_id]
    # the first POST's answer never reached the killed client; only the second was recorded
    _, out = run(cfg, "alerts", "list", "--format", "json")
    assert [r["status"] for r in json.loads(out)] == ["sent"]


@pytest.mark.parametrize("status", ["pending", "sent", "failed", "muted"])
def test_list_filters_by_status(tmp_path: Path, webhook: WebhookReceiver, status: str) -> None:
    cfg = write_config(tmp_path, hook_toml(webhook.hook_url))
    seed_now(tmp_path, 2)
    code, out = run(cfg, "alerts", "list", "--status", status, "--format", "json")
    rows = json.loads(out)
    assert code == 0 and all(r["status"] == status for r in rows)
    assert len(rows) == (2 if status == "pending" else 0)


def test_thousand_alerts_all_accounted_for_in_alerts_list(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    cfg = write_config(tmp_path, hook_toml(webhook.hook_url))  # default throttle: 20 an hour
    ids = seed_now(tmp_path, 1000)
    code, out = run(cfg, "alerts", "deliver")
    assert code == 0 and "20 sent, 980 batched in 1 message(s)" in out
    assert len(webhook.posts()) == 21
    _, out = run(cfg, "alerts", "list", "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 1000 and {r["id"] for r in rows} == set(ids)
    assert {r["status"] for r in rows} == {"sent"}
    assert sum(1 for r in rows if (r["note"] or "").startswith("batch:")) == 980
    _, text = run(cfg, "alerts", "list")
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("1000 shown; outbox:") and "pending=0" in last and "sent=1000" in last
