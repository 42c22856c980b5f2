"""robots.txt, fetched once per host and cached (RFC 9309: 4xx -> allow all, 5xx or an
unreachable server -> disallow for now, retried after a short while)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from watcher.errors import FetchError

if TYPE_CHECKING:
    from watcher.http import Fetcher

__all__ = ["UNREACHABLE", "RobotsCache", "parse_robots"]

TTL = 24 * 3600.0
ERROR_TTL = 600.0
MAX_ROBOTS = 512 * 1024
UNREACHABLE = "robots.txt unreachable"  # how a refusal for an unfetchable robots.txt begins


def parse_robots(body: bytes) -> RobotFileParser:
    parser = RobotFileParser()
    parser.parse(body.decode("utf-8-sig", "replace").splitlines())
    return parser


class _AllowAll:
    def can_fetch(self, useragent: str, url: str) -> bool:
        return True


class _DisallowAll:
    """robots.txt could not be fetched (5xx, 429, no answer): nothing is allowed for now."""

    def __init__(self, reason: str = "") -> None:
        self.reason = reason

    def can_fetch(self, useragent: str, url: str) -> bool:
        return False


class RobotsCache:
    """Per-host robots.txt verdicts for one :class:`~watcher.http.Fetcher`."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self._rules: dict[str, tuple[float, RobotFileParser | _AllowAll | _DisallowAll]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _agent(self) -> str:
        return self.fetcher.cfg.user_agent.split("/", 1)[0]

    async def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched, or ``None`` when it may: ``"disallowed by
        robots.txt"``, or (a temporary refusal) :data:`UNREACHABLE` and why."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            entry = self._rules.get(origin)
            now = self.fetcher.clock()
            if entry is None or entry[0] < now:
                entry = await self._load(origin, now)
                self._rules[origin] = entry
        rules = entry[1]
        if rules.can_fetch(self._agent(), url):
            return None
        if isinstance(rules, _DisallowAll):
            return f"{UNREACHABLE} ({rules.reason}); asked again after {ERROR_TTL / 60:.0f} min"
        return "disallowed by robots.txt"

    async def _load(
        self, origin: str, now: float
    ) -> tuple[float, RobotFileParser | _AllowAll | _DisallowAll]:
        try:
            doc = await self.fetcher.fetch(origin + "/robots.txt", max_bytes=MAX_ROBOTS)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return now + TTL, _AllowAll()
            if exc.status is None and "larger than" in exc.reason:
                return now + TTL, _AllowAll()
            return now + ERROR_TTL, _DisallowAll(exc.reason)
        return now + TTL, parse_robots(doc.body)
