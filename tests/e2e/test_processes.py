"""Real subprocess runs: the daemon starts, polls, alerts and stops cleanly on SIGTERM; bad
config and unwritable storage give clear errors and the documented exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.newsroom import serve_article, write_config
from tests.e2e.test_end_to_end import OWN_BODY, OWN_LEFTOVERS, OWN_TITLE, SECRET
from tests.support.servers import LocalHTTPServer, LocalSMTPServer, WebhookReceiver


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["WATCHER_HOOK_SECRET"] = SECRET
    env.pop("WATCHER_CONFIG", None)
    return env


def test_daemon_polls_alerts_and_stops_on_sigterm(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    webhook: WebhookReceiver,
    smtp_server: LocalSMTPServer,
) -> None:
    feed = serve_article(http_server, OWN_TITLE, OWN_BODY, OWN_LEFTOVERS)
    cfg = write_config(tmp_path, feed, webhook.hook_url, smtp_server.url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "--config", str(cfg), "run"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: workers can be killed with it
    )
    err = ""
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (webhook.posts() and smtp_server.messages):
            assert proc.poll() is None, proc.communicate(timeout=30)
            time.sleep(0.2)
        assert len(webhook.posts()) == 1
        assert len(smtp_server.messages) == 1
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the daemon and its worker processes
            proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in err
    assert SECRET not in err  # secrets never reach the log


def test_poll_subprocess_with_bad_config_exits_2_with_every_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[source]]\nname = "x"\nurl = "not a url"\nevry = "5m"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(cfg), "poll"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "source[x].url" in proc.stderr
    assert "evry" in proc.stderr and "did you mean 'every'" in proc.stderr


def test_poll_with_unwritable_database_exits_3(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    cfg = tmp_path / "w.toml"
    cfg.write_text(f'[storage]\npath = "{blocker}/sub/watcher.db"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(cfg), "poll"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert "storage" in proc.stderr
