"""Invented alert content and config builders for the alert tests (no third-party text)."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from watcher.alerts.payload import AlertContent, EvidenceItem, RuleHit
from watcher.config import Config, EmailAlert, parse_config

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ARABIC_TITLE = "ميتا تطلق لاما 4 وديب سيك يرد بنموذج جديد"
CHINESE_TITLE = "深度求索发布新模型，算力投资再创新高"


def content(
    title: str = "Lab unveils open model after $20 billion data center plan",
    alert_id: str = "al_0123456789abcdef",
    severity: str = "normal",
    rules: tuple[str, ...] = ("deepseek", "capex"),
    **kw: Any,
) -> AlertContent:
    hits = tuple(
        RuleHit(
            r,
            r.title(),
            severity,
            ("ai",),
            (EvidenceItem("text", r.upper(), r, 10, 10 + len(r), f"before {r.upper()} after"),),
        )
        for r in rules
    )
    base: dict[str, Any] = {
        "alert_id": alert_id,
        "channel": "hook",
        "created_at": NOW,
        "url": "https://news.example.org/2026/03/open-model?id=7",
        "title": title,
        "source": "example-news",
        "rules": hits,
        "snippet": "An invented snippet about a new open model and a data center plan.",
        "published": NOW,
        "language": "en",
        "also_reported_by": ("other-wire",),
    }
    base.update(kw)
    return AlertContent(**base)


def make_config(
    tmp_path: Path, alerts: list[dict[str, Any]], env: dict[str, str] | None = None
) -> Config:
    data = {"storage": {"path": str(tmp_path / "watcher.db")}, "alert": alerts}
    return parse_config(data, path=tmp_path / "watcher.toml", env=env or {})


def seed(
    store: Any,
    n: int = 1,
    channels: tuple[str, ...] = ("hook",),
    *,
    now: datetime = NOW,
    severity: str = "normal",
    title: str = "Open model launch number {i} with a data center plan",
    rules: tuple[str, ...] = ("deepseek",),
    muted_rules: tuple[str, ...] = (),
    source: str = "example-news",
) -> list[str]:
    """Store ``n`` invented matching articles with an alert per channel; return alert ids."""
    from rules.models import Evidence, RuleMatch
    from storage.models import NewArticle

    ids: list[str] = []
    for i in range(n):
        text = f"Article {i}: DeepSeek released a model; the lab plans a $20 billion data center."
        matches = [
            RuleMatch(
                r,
                r.title(),
                severity,  # type: ignore[arg-type]
                ("ai",),
                (Evidence("text", 12, 20, text[12:20], r, text[:60]),),
            )
            for r in rules
        ]
        url = f"https://news.example.org/story/{source}/{i}"
        out = store.record_article(
            NewArticle(
                url=url,
                canonical_url=url,
                source=source,
                title=title.format(i=i),
                text=text,
                language="en",
                published=now,
                content_hash=f"hash-{source}-{i}",
            ),
            matches,
            {c: list(rules) for c in channels},
            now,
            muted_rules=muted_rules,
        )
        ids.extend(out.alert_ids)
    return ids


def hook_config(tmp_path: Path, url: str, **kw: Any) -> Config:
    """A config with one generic webhook channel named ``hook``."""
    return make_config(tmp_path, [{"name": "hook", "kind": "webhook", "url": url, **kw}])


PASSWORD = b"pa55word"


class AuthSMTPServer:
    """A real aiosmtpd server with AUTH PLAIN (accepting only ``PASSWORD``), in clear text,
    with STARTTLS required, or with implicit TLS; it records logins and messages."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        tls: Literal["none", "starttls", "implicit"] = "none",
        cert: tuple[Path, Path] | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(envelope)
                return "250 OK"

        def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            assert isinstance(data, LoginPassword)
            outer.logins.append((data.login, data.password))
            return AuthResult(success=data.password == PASSWORD, handled=False)

        with socket.socket(socket.AF_INET) as s:
            s.bind((host, 0))
            self.port = int(s.getsockname()[1])
        # PLAIN only: aiosmtpd's LOGIN with an initial response stalls smtplib's fallback
        kw: dict[str, Any] = {"authenticator": auth, "auth_exclude_mechanism": ["LOGIN"]}
        if tls == "none":
            kw["auth_require_tls"] = False
        else:
            assert cert is not None
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
            if tls == "implicit":
                kw["ssl_context"] = ctx
                kw["auth_require_tls"] = False  # aiosmtpd cannot tell that the socket is TLS
            else:
                kw["tls_context"] = ctx
                kw["require_starttls"] = True
        self.controller = Controller(Handler(), hostname=host, port=self.port, **kw)

    def __enter__(self) -> AuthSMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def email_channel(tmp_path: Path, smtp_url: str, password: str = PASSWORD.decode()) -> EmailAlert:
    """An email channel that logs in as ``watcher`` with ``password`` (from the environment)."""
    cfg = make_config(
        tmp_path,
        [
            {
                "name": "mail",
                "kind": "email",
                "smtp": smtp_url,
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
