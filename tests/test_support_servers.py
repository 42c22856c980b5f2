"""The test servers themselves behave like real servers (ETag, streaming, SMTP, webhooks)."""

from __future__ import annotations

import smtplib

import httpx

from tests.support.servers import LocalHTTPServer, LocalSMTPServer, Route, WebhookReceiver


def test_http_server_serves_and_honours_etag(http_server: LocalHTTPServer) -> None:
    http_server.routes["/feed.xml"] = Route(b"<rss/>", content_type="application/rss+xml")
    first = httpx.get(http_server.url("/feed.xml"))
    assert first.status_code == 200 and first.content == b"<rss/>"
    etag = first.headers["etag"]
    second = httpx.get(http_server.url("/feed.xml"), headers={"If-None-Match": etag})
    assert second.status_code == 304 and second.content == b""
    assert httpx.get(http_server.url("/missing")).status_code == 404
    assert len(http_server.hits("/feed.xml")) == 2


def test_webhook_receiver_follows_script(webhook: WebhookReceiver) -> None:
    webhook.script = [Route(b"no", status=500), Route(b"ok", status=200)]
    assert httpx.post(webhook.hook_url, content=b"{}").status_code == 500
    assert httpx.post(webhook.hook_url, content=b"{}").status_code == 200
    assert httpx.post(webhook.hook_url, content=b"{}").status_code == 200
    assert len(webhook.posts()) == 3 and len(webhook.accepted()) == 2


def test_smtp_server_receives_and_can_go_down() -> None:
    server = LocalSMTPServer().start()
    try:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: hi\r\n\r\nbody\r\n")
        assert len(server.messages) == 1
        assert server.messages[0].message["Subject"] == "hi"
    finally:
        server.stop()
    try:
        smtplib.SMTP("127.0.0.1", server.port, timeout=2)
        raise AssertionError("server should be down")
    except OSError:
        pass
