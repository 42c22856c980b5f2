"""SMTP with STARTTLS + AUTH and with implicit TLS (smtps://), against a real aiosmtpd server
with a throw-away self-signed certificate trusted through SSL_CERT_FILE."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.helpers import CHINESE_TITLE, NOW, AuthSMTPServer, email_channel
from watcher.alerts import send_email_message
from watcher.errors import DeliveryError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI absent")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(d / "key.pem"),
            "-out",
            str(d / "cert.pem"),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def trust(cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    yield


async def test_starttls_and_auth(tmp_path: Path, cert: tuple[Path, Path], trust: None) -> None:
    with AuthSMTPServer(tls="starttls", cert=cert) as server:
        ch = email_channel(tmp_path, f"smtp://127.0.0.1:{server.port}")
        await send_email_message(ch, CHINESE_TITLE, "text", None, now=NOW)
    assert server.logins == [(b"watcher", b"pa55word")]
    assert len(server.messages) == 1


async def test_implicit_tls(tmp_path: Path, cert: tuple[Path, Path], trust: None) -> None:
    with AuthSMTPServer(tls="implicit", cert=cert) as server:
        ch = email_channel(tmp_path, f"smtps://127.0.0.1:{server.port}")
        await send_email_message(ch, "hello", "text", "<p>hi</p>", now=NOW)
    assert len(server.messages) == 1


async def test_wrong_password_is_a_permanent_failure(
    tmp_path: Path, cert: tuple[Path, Path], trust: None
) -> None:
    with AuthSMTPServer(tls="starttls", cert=cert) as server:
        ch = email_channel(tmp_path, f"smtp://127.0.0.1:{server.port}", "wrong")
        with pytest.raises(DeliveryError) as err:
            await send_email_message(ch, "hello", "text", None, now=NOW)
    assert not err.value.retryable and "authentication" in err.value.reason
    assert "wrong" not in str(err.value)
    assert server.messages == []


async def test_untrusted_certificate_is_refused(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    with AuthSMTPServer(tls="starttls", cert=cert) as server:
        ch = email_channel(tmp_path, f"smtp://127.0.0.1:{server.port}")
        with pytest.raises(DeliveryError) as err:
            await send_email_message(ch, "hello", "text", None, now=NOW)
    assert not err.value.retryable and "certificate" in err.value.reason
    assert server.logins == [] and server.messages == []
