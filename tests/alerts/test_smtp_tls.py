"""SMTP with STARTTLS + AUTH and with implicit TLS (smtps://), against a real aiosmtpd server
with a throw-away self-signed certificate trusted through SSL_CERT_FILE."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.helpers import CHINESE_TITLE, NOW, make_config
from tests.support.servers import _free_port
from watcher.alerts import send_email_message
from watcher.config import EmailAlert
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


class _Server:
    def __init__(self, cert: tuple[Path, Path], *, implicit: bool) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(envelope)
                return "250 OK"

        def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            assert isinstance(data, LoginPassword)
            outer.logins.append((data.login, data.password))
            return AuthResult(success=data.password == b"pa55word", handled=False)

        self.port = _free_port()
        # PLAIN only: aiosmtpd's LOGIN with an initial response stalls smtplib's fallback
        kw: dict[str, Any] = {"authenticator": auth, "auth_exclude_mechanism": ["LOGIN"]}
        if implicit:
            kw["ssl_context"] = ctx
            kw["auth_require_tls"] = False  # aiosmtpd cannot tell that the socket is TLS
        else:
            kw["tls_context"] = ctx
            kw["require_starttls"] = True
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kw)

    def __enter__(self) -> _Server:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture
def trust(cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    yield


def _channel(tmp_path: Path, url: str, password: str) -> EmailAlert:
    cfg = make_config(
        tmp_path,
        [
            {
                "name": "mail",
                "kind": "email",
                "smtp": url,
                "from": "watcher@example.org",
                "to": ["analyst@example.org"],
                "user": "env:U",
                "password": "env:P",
                "timeout": 5,
            }
        ],
        env={"U": "watcher", "P": password},
    )
    ch = cfg.alerts[0]
    assert isinstance(ch, EmailAlert)
    return ch


async def test_starttls_and_auth(tmp_path: Path, cert: tuple[Path, Path], trust: None) -> None:
    with _Server(cert, implicit=False) as server:
        ch = _channel(tmp_path, f"smtp://127.0.0.1:{server.port}", "pa55word")
        await send_email_message(ch, CHINESE_TITLE, "text", None, now=NOW)
    assert server.logins == [(b"watcher", b"pa55word")]
    assert len(server.messages) == 1


async def test_implicit_tls(tmp_path: Path, cert: tuple[Path, Path], trust: None) -> None:
    with _Server(cert, implicit=True) as server:
        ch = _channel(tmp_path, f"smtps://127.0.0.1:{server.port}", "pa55word")
        await send_email_message(ch, "hello", "text", "<p>hi</p>", now=NOW)
    assert len(server.messages) == 1


async def test_wrong_password_is_a_permanent_failure(
    tmp_path: Path, cert: tuple[Path, Path], trust: None
) -> None:
    with _Server(cert, implicit=False) as server:
        ch = _channel(tmp_path, f"smtp://127.0.0.1:{server.port}", "wrong")
        with pytest.raises(DeliveryError) as err:
            await send_email_message(ch, "hello", "text", None, now=NOW)
    assert not err.value.retryable and "authentication" in err.value.reason
    assert "wrong" not in str(err.value)
    assert server.messages == []


async def test_untrusted_certificate_is_refused(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    with _Server(cert, implicit=False) as server:
        ch = _channel(tmp_path, f"smtp://127.0.0.1:{server.port}", "pa55word")
        with pytest.raises(DeliveryError) as err:
            await send_email_message(ch, "hello", "text", None, now=NOW)
    assert not err.value.retryable and "certificate" in err.value.reason
    assert server.logins == [] and server.messages == []
