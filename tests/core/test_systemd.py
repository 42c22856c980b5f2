"""The systemd unit passes `systemd-analyze verify` and carries the promised hardening."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "ai-news-watcher.service"


def test_unit_has_restart_state_and_hardening() -> None:
    text = UNIT.read_text()
    for line in (
        "Restart=on-failure",
        "DynamicUser=yes",
        "StateDirectory=ai-news-watcher",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "KillSignal=SIGTERM",
        "KillMode=mixed",
        "EnvironmentFile=-/etc/ai-news-watcher/env",
    ):
        assert line in text.splitlines(), line


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_passes_without_warnings(tmp_path: Path) -> None:
    watcher = Path(sys.executable).with_name("watcher")
    assert watcher.exists(), "the console script must be installed"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/ai-news-watcher/bin/watcher", str(watcher)))
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    relevant = [line for line in output.splitlines() if unit.name in line]
    assert not relevant, output
