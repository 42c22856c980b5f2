"""Error tree of the service: every error the ``watcher`` package raises is a WatcherError."""

from __future__ import annotations

from dataclasses import dataclass

from storage.urls import redacted


class WatcherError(Exception):
    """Root of all errors raised by the ``watcher`` package."""


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in a configuration file."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


class ConfigError(WatcherError):
    """The configuration is invalid; ``problems`` lists every mistake found (not just the first)."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


class FetchError(WatcherError):
    """A URL could not be fetched. ``retry_after`` (seconds) is set when the server asked."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(f"{redacted(url)}: {reason}")  # (a password in the URL is not shown)


class ParseError(WatcherError):
    """A fetched document (feed, page, sitemap, OPML) could not be parsed."""


class ExtractionError(WatcherError):
    """An article's text could not be extracted from its page."""


class DeliveryError(WatcherError):
    """An alert channel did not accept a message.

    ``retryable`` is False for errors that will not heal by waiting (bad address, 4xx other than
    408/429); ``retry_after`` (seconds) is set when the receiver asked for a delay.
    """

    def __init__(
        self, channel: str, reason: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        self.channel = channel
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(f"{channel}: {reason}")
