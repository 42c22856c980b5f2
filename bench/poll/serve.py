"""A fast static server for the benchmark corpus (aiohttp, everything in memory), with strong
ETags and Last-Modified, answering 304 to conditional requests."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from aiohttp import web

LAST_MODIFIED = "Sat, 28 Nov 2026 12:00:00 GMT"


def load(root: Path) -> dict[str, tuple[bytes, str, str]]:
    files = {}
    for sub, ctype in (
        ("f", "application/rss+xml; charset=utf-8"),
        ("a", "text/html; charset=utf-8"),
    ):
        for p in (root / sub).iterdir():
            body = p.read_bytes()
            files[f"/{sub}/{p.name}"] = (body, '"' + hashlib.md5(body).hexdigest() + '"', ctype)
    return files


def main() -> None:
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    files = load(root)

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nDisallow: /private/\n")
        hit = files.get(request.path)
        if hit is None:
            return web.Response(status=404, text="not found")
        body, etag, ctype = hit
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if request.headers.get("If-None-Match") == etag or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={**headers, "Content-Type": ctype})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=1024)


if __name__ == "__main__":
    main()
