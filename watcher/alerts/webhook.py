"""Webhook delivery: sign, POST, and classify the answer (only 2xx counts as delivered)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import httpx

from watcher.alerts.formats import Rendered
from watcher.alerts.policy import parse_retry_after
from watcher.config import WebhookAlert
from watcher.errors import DeliveryError

USER_AGENT = "ai-news-watcher-alerts/0.1"
RETRYABLE_STATUS = frozenset({408, 425, 429})


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + raw body)>``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, header: str, *, now: float, tolerance: float = 300
) -> bool:
    """Receiver side (as documented): constant-time compare and a freshness window."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)


def build_headers(
    channel: WebhookAlert, rendered: Rendered, delivery_id: str, now: datetime
) -> dict[str, str]:
    ts = int(now.timestamp())
    headers = {
        "Content-Type": rendered.content_type,
        "User-Agent": USER_AGENT,
        "X-Watcher-Delivery": delivery_id,
        "X-Watcher-Timestamp": str(ts),
    }
    headers.update(dict(rendered.headers))
    headers.update(dict(channel.headers))
    if channel.secret is not None:
        headers["X-Watcher-Signature"] = signature(channel.secret.reveal(), ts, rendered.body)
    return headers


async def post_webhook(
    client: httpx.AsyncClient,
    channel: WebhookAlert,
    rendered: Rendered,
    delivery_id: str,
    now: datetime,
) -> int:
    """POST one message; return the 2xx status. Anything else raises :class:`DeliveryError`
    (``retryable`` for timeouts, connection errors, 408/425/429 and 5xx; not for other 4xx or
    redirects, which will not heal by waiting). Secrets never appear in errors."""
    headers = build_headers(channel, rendered, delivery_id, now)
    try:
        response = await client.post(
            channel.url,
            content=rendered.body,
            headers=headers,
            timeout=channel.timeout,
            follow_redirects=False,
        )
    except httpx.TimeoutException as exc:
        raise DeliveryError(channel.name, f"timed out after {channel.timeout:g}s") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(channel.name, f"{type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return status
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    detail = response.text[:200].strip().replace("\n", " ")
    reason = f"HTTP {status}" + (f": {detail}" if detail else "")
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        raise DeliveryError(
            channel.name, f"HTTP {status} redirect to {where} (update the url)", retryable=False
        )
    retryable = status >= 500 or status in RETRYABLE_STATUS
    raise DeliveryError(channel.name, reason, retryable=retryable, retry_after=retry_after)
