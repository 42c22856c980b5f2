"""Email alerts: multipart text + HTML messages and SMTP delivery (stdlib smtplib in a thread).

Headers built from feed text are cleaned of CR/LF and other control characters (no header
injection); non-ASCII subjects are RFC 2047 encoded by the email package, so Arabic or Chinese
titles arrive intact. STARTTLS is used when the server offers it (``smtp://``), implicit TLS for
``smtps://``. Only an SMTP 250 for the message counts as delivered.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from watcher.alerts.payload import AlertContent, BatchContent, clean_line
from watcher.config import EmailAlert
from watcher.errors import DeliveryError

log = logging.getLogger("watcher.alerts")

SUBJECT_CHARS = 180
_FONT = "font-family:Helvetica,Arial,sans-serif"


def make_message_id(alert_id: str, from_addr: str) -> str:
    """A stable Message-ID from the alert id, so receivers can drop repeats."""
    domain = from_addr.rpartition("@")[2]
    domain = "".join(c for c in domain if c.isalnum() or c in ".-") or "ai-news-watcher.invalid"
    local = "".join(c for c in alert_id if c.isalnum() or c in "._-") or "alert"
    return f"<{local}@{domain}>"


def build_message(
    channel: EmailAlert,
    subject: str,
    text: str,
    html_body: str | None,
    *,
    now: datetime,
    msg_id: str | None = None,
) -> EmailMessage:
    """A ready-to-send message; the subject is cleaned (no CR/LF) and cut to a sane length."""
    msg = EmailMessage(policy=SMTP)
    subject = clean_line(subject, SUBJECT_CHARS)
    if subject.isascii():
        msg["Subject"] = subject
    else:
        # The policy-based folder of Python 3.11 drops the space between two RFC 2047 encoded
        # words when it folds a long subject (an Arabic title loses word breaks); the legacy
        # Header class folds correctly, and set_raw keeps its lines as they are.
        folded = Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
        msg.set_raw("Subject", folded)
    msg["From"] = channel.from_addr
    msg["To"] = ", ".join(channel.to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = (
        clean_line(msg_id).replace(" ", "")
        if msg_id
        else make_message_id(f"msg-{int(now.timestamp() * 1000)}", channel.from_addr)
    )
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Mailer"] = "ai-news-watcher"
    msg.set_content(text, charset="utf-8")
    if html_body is not None:
        msg.add_alternative(html_body, subtype="html", charset="utf-8")
    return msg


def alert_subject(c: AlertContent) -> str:
    return f"[{', '.join(c.rule_ids)}] {c.title}"


def alert_text(c: AlertContent) -> str:
    lines = [c.title, c.url, ""]
    if c.snippet:
        lines += [c.snippet, ""]
    lines.append("Why it matched:")
    for r in c.rules:
        lines.append(f"  - {r.rule} ({r.name}, {r.severity})")
        for e in r.evidence:
            lines.append(f'      "{clean_line(e.text)}" (term: {clean_line(e.term)}, {e.field})')
            if e.snippet:
                lines.append(f"        … {e.snippet} …")
    lines.append("")
    lines.append(f"Source: {c.source}")
    if c.also_reported_by:
        lines.append("Also reported by: " + ", ".join(c.also_reported_by))
    if c.published is not None:
        lines.append(f"Published: {c.published.strftime('%Y-%m-%d %H:%M UTC')}")
    if c.language:
        lines.append(f"Language: {c.language}")
    lines += ["", f"-- ai-news-watcher alert {c.alert_id}"]
    return "\n".join(lines) + "\n"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(inner: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="{_FONT};font-size:14px;color:#222;max-width:680px">{inner}</body></html>'
    )


def alert_html(c: AlertContent) -> str:
    """Self-contained HTML (inline styles, no images, scripts or remote resources)."""
    rules = []
    for r in c.rules:
        ev = "".join(
            f'<li><b dir="auto">{_e(e.text)}</b> <span style="color:#666">({_e(e.term)})</span>'
            + (
                f'<br><span dir="auto" style="color:#444">… {_e(e.snippet)} …</span>'
                if e.snippet
                else ""
            )
            + "</li>"
            for e in r.evidence
        )
        rules.append(
            f"<li><b>{_e(r.rule)}</b> {_e(r.name)} <i>({_e(r.severity)})</i>"
            + (f'<ul style="margin:4px 0">{ev}</ul>' if ev else "")
            + "</li>"
        )
    meta = [f"Source: {_e(c.source)}"]
    if c.also_reported_by:
        meta.append("Also reported by: " + _e(", ".join(c.also_reported_by)))
    if c.published is not None:
        meta.append("Published: " + _e(c.published.strftime("%Y-%m-%d %H:%M UTC")))
    if c.language:
        meta.append("Language: " + _e(c.language))
    inner = (
        f'<h2 dir="auto" style="font-size:18px;margin:0 0 8px">'
        f'<a href="{_e(c.url)}" style="color:#0b57d0">{_e(c.title)}</a></h2>'
        + (f'<p dir="auto" style="margin:0 0 12px">{_e(c.snippet)}</p>' if c.snippet else "")
        + f'<p style="margin:0">Why it matched:</p><ul>{"".join(rules)}</ul>'
        + f'<p style="color:#666;font-size:12px">{"<br>".join(meta)}</p>'
        + f'<p style="color:#999;font-size:11px">ai-news-watcher alert {_e(c.alert_id)}</p>'
    )
    return _page(inner)


def alert_message(channel: EmailAlert, c: AlertContent, now: datetime) -> EmailMessage:
    return build_message(
        channel,
        alert_subject(c),
        alert_text(c),
        alert_html(c),
        now=now,
        msg_id=make_message_id(c.alert_id, channel.from_addr),
    )


def batch_message(channel: EmailAlert, b: BatchContent, now: datetime) -> EmailMessage:
    subject = f"{b.count} more matching articles (over the alert limit for {b.window})"
    text_lines = [subject, ""]
    items = []
    for c in b.items:
        text_lines += [f"- [{', '.join(c.rule_ids)}] {c.title}", f"  {c.url}", f"  {c.why()}"]
        items.append(
            f'<li dir="auto"><a href="{_e(c.url)}">{_e(c.title)}</a> '
            f'<span style="color:#666">[{_e(", ".join(c.rule_ids))}] {_e(c.source)}</span>'
            f'<br><span style="color:#444;font-size:12px">{_e(c.why())}</span></li>'
        )
    body = _page(f"<h2 style='font-size:18px'>{_e(subject)}</h2><ul>{''.join(items)}</ul>")
    return build_message(
        channel,
        subject,
        "\n".join(text_lines) + "\n",
        body,
        now=now,
        msg_id=make_message_id(b.batch_id, channel.from_addr),
    )


# -- SMTP -----------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal (127.0.0.0/8, ::1). Any other name is taken as
    remote: a name is not resolved, so ``localhost.example.org`` does not pass."""
    host = host.strip().rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def may_send_credentials(host: str, encrypted: bool) -> bool:
    """Whether SMTP credentials may be sent: over TLS (implicit or STARTTLS) to any host, in
    clear text only to a loopback relay."""
    return encrypted or _is_loopback(host)


def _smtp_code_error(channel: str, code: int, text: bytes | str, what: str) -> DeliveryError:
    msg = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return DeliveryError(
        channel, f"SMTP {code} {what}: {clean_line(msg, 200)}", retryable=400 <= code < 500
    )


def send_blocking(
    channel: EmailAlert, messages: Sequence[EmailMessage]
) -> list[DeliveryError | None]:
    """Send ``messages`` over one SMTP session. Returns one entry per message: ``None`` when
    the server answered 250, else the error. Raises :class:`DeliveryError` when the session
    cannot be set up at all (connection, TLS, auth)."""
    ctx = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if channel.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                channel.host, channel.port, timeout=channel.timeout, context=ctx
            )
        else:
            smtp = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            channel.name, f"cannot connect to {channel.host}:{channel.port}: {exc}"
        ) from exc
    results: list[DeliveryError | None] = []
    try:
        try:
            smtp.ehlo()
            encrypted = channel.security == "ssl"
            if channel.security == "starttls" and smtp.has_extn("starttls"):
                smtp.starttls(context=ctx)
                smtp.ehlo()
                encrypted = True
            if channel.username is not None:
                if not may_send_credentials(channel.host, encrypted):
                    raise DeliveryError(
                        channel.name,
                        "refusing to send SMTP credentials over an unencrypted connection",
                        retryable=False,
                    )
                password = channel.password.reveal() if channel.password else ""
                smtp.login(channel.username.reveal(), password)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                channel.name, f"SMTP authentication failed ({exc.smtp_code})", retryable=False
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(channel.name, f"SMTP: {exc}", retryable=False) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                channel.name, f"TLS certificate: {exc.verify_message}", retryable=False
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise _smtp_code_error(
                channel.name, exc.smtp_code, exc.smtp_error, "during set-up"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(channel.name, f"SMTP session failed: {exc}") from exc
        for msg in messages:
            results.append(_send_one(smtp, channel, msg))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return results


def _send_one(smtp: smtplib.SMTP, channel: EmailAlert, msg: EmailMessage) -> DeliveryError | None:
    try:
        refused = smtp.send_message(msg, from_addr=channel.from_addr, to_addrs=list(channel.to))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return DeliveryError(
            channel.name,
            f"all recipients refused ({', '.join(map(str, codes))})",
            retryable=any(400 <= c < 500 for c in codes),
        )
    except smtplib.SMTPResponseException as exc:
        return _smtp_code_error(channel.name, exc.smtp_code, exc.smtp_error, "for the message")
    except (OSError, smtplib.SMTPException) as exc:
        return DeliveryError(channel.name, f"SMTP connection lost: {exc}")
    if refused:
        log.warning("%s: some recipients refused: %s", channel.name, ", ".join(refused))
    return None


async def send_email_message(
    channel: EmailAlert,
    subject: str,
    text: str,
    html: str | None,
    *,
    message_id: str | None = None,
    now: datetime,
) -> None:
    """Send one email (the daily digest uses this). ``message_id`` is a full ``<id@domain>``
    or a bare token (e.g. ``digest-2026-03-02-team-mail``) made into ``<token@from-domain>``;
    pass a stable one so that a resent message can be recognised. Raises
    :class:`DeliveryError`."""
    if message_id is not None and not (message_id.startswith("<") and "@" in message_id):
        message_id = make_message_id(message_id, channel.from_addr)  # a bare token
    msg = build_message(channel, subject, text, html, now=now, msg_id=message_id)
    [err] = await asyncio.to_thread(send_blocking, channel, [msg])
    if err is not None:
        raise err
