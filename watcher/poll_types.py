"""What a poll works with and reports: candidate articles from any kind of source, the
per-source counts the pipeline and the revisions fill in, and the reports of a poll."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from watcher.config import SourceConfig
from watcher.extract import guess_language
from watcher.feeds import FeedItem
from watcher.jobs import Prepared

__all__ = ["Candidate", "PageFailure", "PollCounts", "PollReport", "SourceReport", "Status"]

Status = Literal["ok", "not_modified", "error", "skipped"]


@dataclass
class Candidate:
    """A candidate article from any kind of source."""

    url: str | None
    guid: str | None = None
    title: str = ""
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    author: str | None = None
    language: str | None = None
    updated: datetime | None = None  # the source's modification time of the item, if any
    prepared: Prepared | None = None  # computed by the worker (see watcher.jobs.prepare)

    @property
    def feed_text(self) -> str:
        """The article text the feed itself carries (its title at least)."""
        return self.content or self.summary or self.title

    def feed_language(self, source: SourceConfig) -> str | None:
        """The language of :attr:`feed_text`: the item's, the source's, else a guess."""
        if self.prepared is not None and self.prepared.feed_hash is not None:
            return self.prepared.feed_language
        return self.language or source.language or guess_language(self.feed_text)

    @classmethod
    def from_feed(cls, it: FeedItem, prepared: Prepared | None = None) -> Candidate:
        return cls(
            it.url,
            it.guid,
            it.title,
            it.summary,
            it.content,
            it.published,
            it.author,
            it.language,
            it.updated,
            prepared,
        )


@dataclass(frozen=True, slots=True)
class PageFailure:
    """An article page that could not be fetched; ``temporary``: a later poll may succeed."""

    reason: str
    temporary: bool


@dataclass
class PollCounts:
    """What polling one source did, for its report (filled by the pipeline and revisions)."""

    new: int = 0
    matched: int = 0
    alerts: int = 0
    held: int = 0  # items left for a later poll (their page failed for a temporary cause)
    revised: int = 0  # stored articles whose text changed (a new revision)
    notes: list[str] = field(default_factory=list)
    done_keys: list[str] = field(default_factory=list)  # pages whose retry count can go


@dataclass(frozen=True, slots=True)
class SourceReport:
    name: str
    status: Status
    error: str | None = None
    http_status: int | None = None
    items: int = 0
    new_articles: int = 0
    matched_articles: int = 0
    alerts_created: int = 0
    url: str = ""
    duration_ms: int = 0
    notes: tuple[str, ...] = ()  # e.g. items stored from the feed text because extraction failed
    revised_articles: int = 0  # stored articles that changed (see watcher.revisions)


@dataclass(frozen=True, slots=True)
class PollReport:
    sources: list[SourceReport] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(r.items for r in self.sources)

    @property
    def new_articles(self) -> int:
        return sum(r.new_articles for r in self.sources)

    @property
    def matched_articles(self) -> int:
        return sum(r.matched_articles for r in self.sources)

    @property
    def alerts_created(self) -> int:
        return sum(r.alerts_created for r in self.sources)

    @property
    def failed(self) -> list[SourceReport]:
        return [r for r in self.sources if r.status == "error"]
