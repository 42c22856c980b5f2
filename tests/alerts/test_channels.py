"""Rendering and sending single messages: webhook formats and signature, email MIME and SMTP."""

from __future__ import annotations

import json
from email.header import decode_header, make_header
from pathlib import Path

import httpx
import pytest

from tests.alerts.helpers import ARABIC_TITLE, CHINESE_TITLE, NOW, content, make_config
from tests.support.servers import LocalSMTPServer, Route, WebhookReceiver
from watcher.alerts import send_email_message, verify_signature
from watcher.alerts.email import alert_message, make_message_id
from watcher.alerts.formats import BATCH, SINGLE, render_ntfy
from watcher.alerts.payload import BatchContent, alert_json, clean_line
from watcher.alerts.webhook import post_webhook
from watcher.config import EmailAlert, WebhookAlert
from watcher.errors import DeliveryError


def _hook(tmp_path: Path, url: str, **kw: object) -> WebhookAlert:
    cfg = make_config(tmp_path, [{"name": "hook", "kind": "webhook", "url": url, **kw}])
    ch = cfg.alerts[0]
    assert isinstance(ch, WebhookAlert)
    return ch


def _mail(tmp_path: Path, smtp: str, **kw: object) -> EmailAlert:
    cfg = make_config(
        tmp_path,
        [
            {
                "name": "mail",
                "kind": "email",
                "smtp": smtp,
                "from": "watcher@example.org",
                "to": ["analyst@example.org"],
                **kw,
            }
        ],
    )
    ch = cfg.alerts[0]
    assert isinstance(ch, EmailAlert)
    return ch


def test_generic_json_has_the_documented_fields() -> None:
    body = alert_json(content())
    assert {"id", "channel", "created_at", "severity", "article", "rules"} <= set(body)
    assert set(body["article"]) == {
        "url",
        "title",
        "source",
        "also_reported_by",
        "published",
        "language",
        "revision",
        "snippet",
    }
    rule = body["rules"][0]
    assert rule["id"] == "deepseek"
    assert rule["evidence"][0] == {
        "field": "text",
        "text": "DEEPSEEK",
        "term": "deepseek",
        "start": 10,
        "end": 18,
        "snippet": "before DEEPSEEK after",
    }
    assert body["article"]["published"] == "2026-03-02T12:00:00Z"


@pytest.mark.parametrize("fmt", sorted(SINGLE))
def test_every_format_renders_single_and_batch(fmt: str) -> None:
    c = content(title="Hostile <b>title</b> & @everyone | *bold*")
    r = SINGLE[fmt](c)
    assert r.body
    b = BatchContent("batch_x", "hook", tuple(content(alert_id=f"al_{i}") for i in range(40)))
    rb = BATCH[fmt](b)
    text = rb.body.decode() + repr(rb.headers)
    assert "40" in text
    if fmt != "ntfy":
        json.loads(r.body)
        json.loads(rb.body)


def test_chat_payload_shapes() -> None:
    c = content(title="Model <launch> & more")
    slack = json.loads(SINGLE["slack"](c).body)
    assert slack["text"].startswith("[deepseek, capex] Model &lt;launch&gt; &amp; more")
    assert slack["blocks"][0]["type"] == "section"
    discord = json.loads(SINGLE["discord"](c).body)
    assert discord["embeds"][0]["url"] == c.url and discord["allowed_mentions"] == {"parse": []}
    teams = json.loads(SINGLE["teams"](c).body)
    att = teams["attachments"][0]
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert att["content"]["type"] == "AdaptiveCard"
    assert att["content"]["actions"][0]["url"] == c.url


def test_ntfy_headers_are_ascii_and_decode_to_the_title() -> None:
    r = render_ntfy(content(title=ARABIC_TITLE, severity="high"))
    headers = dict(r.headers)
    headers["Title"].encode("ascii")
    assert str(make_header(decode_header(headers["Title"]))) == f"[deepseek, capex] {ARABIC_TITLE}"
    assert headers["Priority"] == "high"
    assert headers["Click"].startswith("https://")


def test_clean_line_strips_controls_and_bidi_overrides() -> None:
    assert clean_line("a\r\nBcc: x@y\x00\u202e z") == "a Bcc: x@y z"
    assert clean_line("x" * 50, 10) == "x" * 9 + "…"


async def test_webhook_signature_verifies(tmp_path: Path, webhook: WebhookReceiver) -> None:
    cfg = make_config(
        tmp_path,
        [{"name": "hook", "kind": "webhook", "url": webhook.hook_url, "secret": "env:S"}],
        env={"S": "top-secret"},
    )
    ch = cfg.alerts[0]
    assert isinstance(ch, WebhookAlert)
    assert "top-secret" not in repr(ch)
    async with httpx.AsyncClient() as client:
        status = await post_webhook(client, ch, SINGLE["json"](content()), "al_1", NOW)
    assert status == 200
    [req] = webhook.posts()
    assert req.headers["x-watcher-delivery"] == "al_1"
    assert req.headers["x-watcher-timestamp"] == str(int(NOW.timestamp()))
    sig = req.headers["x-watcher-signature"]
    assert verify_signature(
        "top-secret", req.headers["x-watcher-timestamp"], req.body, sig, now=NOW.timestamp()
    )
    assert not verify_signature(
        "wrong", req.headers["x-watcher-timestamp"], req.body, sig, now=NOW.timestamp()
    )
    assert not verify_signature(
        "top-secret", req.headers["x-watcher-timestamp"], req.body + b" ", sig, now=NOW.timestamp()
    )
    assert json.loads(req.body)["id"] == "al_0123456789abcdef"


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(404, False), (401, False), (400, False), (500, True), (503, True), (429, True), (301, False)],
)
async def test_webhook_status_classification(
    tmp_path: Path, webhook: WebhookReceiver, status: int, retryable: bool
) -> None:
    headers = {"Retry-After": "90"} if status == 429 else {}
    if status == 301:
        headers = {"Location": "http://127.0.0.1:1/elsewhere"}
    webhook.script = [Route(b"nope", status=status, headers=headers, etag=False)]
    ch = _hook(tmp_path, webhook.hook_url)
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryError) as err:
            await post_webhook(client, ch, SINGLE["json"](content()), "al_1", NOW)
    assert err.value.retryable is retryable
    if status == 429:
        assert err.value.retry_after == 90


async def test_hung_webhook_times_out(tmp_path: Path, webhook: WebhookReceiver) -> None:
    webhook.script = [Route(b"late", delay=3.0)]
    ch = _hook(tmp_path, webhook.hook_url, timeout=0.3)
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryError) as err:
            await post_webhook(client, ch, SINGLE["json"](content()), "al_1", NOW)
    assert err.value.retryable and "timed out" in err.value.reason


def test_email_message_structure_and_header_injection(tmp_path: Path) -> None:
    ch = _mail(tmp_path, "smtp://127.0.0.1:2525")
    evil = "Big news\r\nBcc: victim@example.com\r\n\r\n<script>alert(1)</script>"
    msg = alert_message(ch, content(title=clean_line(evil)), NOW)
    head = msg.as_bytes().split(b"\r\n\r\n", 1)[0]
    assert not any(line.startswith(b"Bcc") for line in head.split(b"\r\n"))
    assert msg["Bcc"] is None
    assert msg["Message-ID"] == make_message_id("al_0123456789abcdef", "watcher@example.org")
    assert msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "src=" not in html and "<link" not in html and "@import" not in html
    # the raw title (not pre-cleaned) is cleaned by the message builder too
    raw_title = alert_message(ch, content(title=evil), NOW)
    assert raw_title["Bcc"] is None
    head = raw_title.as_bytes().split(b"\r\n\r\n", 1)[0]
    assert not any(line.startswith(b"Bcc") for line in head.split(b"\r\n"))


@pytest.mark.parametrize("title", [ARABIC_TITLE, CHINESE_TITLE])
async def test_email_subject_keeps_the_script(
    tmp_path: Path, smtp_server: LocalSMTPServer, title: str
) -> None:
    ch = _mail(tmp_path, smtp_server.url)
    await send_email_message(
        ch, f"[deepseek] {title}", "text", "<p>html</p>", message_id="<abc@example.org>", now=NOW
    )
    [got] = smtp_server.messages
    assert got.rcpt_tos == ["analyst@example.org"]
    raw_subject = got.data.split(b"\r\n\r\n", 1)[0]
    assert all(b < 128 for b in raw_subject)  # RFC 2047 on the wire
    assert got.message["Subject"] == f"[deepseek] {title}"
    assert got.message["Message-ID"] == "<abc@example.org>"


async def test_email_to_a_down_server_is_retryable(tmp_path: Path) -> None:
    smtp = LocalSMTPServer()  # not started: nothing listens on its port
    ch = _mail(tmp_path, smtp.url, timeout=2)
    with pytest.raises(DeliveryError) as err:
        await send_email_message(ch, "s", "t", None, now=NOW)
    assert err.value.retryable


async def test_bare_message_id_token_becomes_a_valid_message_id(
    tmp_path: Path, smtp_server: LocalSMTPServer
) -> None:
    ch = _mail(tmp_path, smtp_server.url)
    await send_email_message(
        ch, "Digest", "text", None, message_id="digest-2026-03-02-mail", now=NOW
    )
    assert smtp_server.messages[0].message["Message-ID"] == "<digest-2026-03-02-mail@example.org>"


def test_long_non_latin_subjects_keep_their_spaces(tmp_path: Path) -> None:
    """Every prefix of a long mixed-script title survives folding and decoding unchanged."""
    from email import message_from_bytes, policy

    ch = _mail(tmp_path, "smtp://127.0.0.1:2525")
    title = (
        f"{ARABIC_TITLE} وتستثمر مليارات الدولارات في مراكز البيانات الجديدة "
        f"{CHINESE_TITLE} and some ASCII words at the end"
    )
    for n in range(1, len(title) + 1):
        subject = clean_line(title[:n]) or "x"
        msg = alert_message(ch, content(title=subject, rules=("capex",)), NOW)
        parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
        assert parsed["Subject"] == f"[capex] {subject}"
        head = msg.as_bytes().split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 998 and max(line) < 128 for line in head.split(b"\r\n") if line)
