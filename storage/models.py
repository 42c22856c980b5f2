"""Records stored and returned by a :class:`storage.Store` (frozen dataclasses).

All datetimes are timezone-aware UTC. Times are always passed in by the caller (``now``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from rules.models import Evidence

FetchStatus = Literal["ok", "not_modified", "error", "skipped"]
AlertStatus = Literal["pending", "sent", "failed", "muted"]
Extraction = Literal["fulltext", "feed", "feed-fallback"]


@dataclass(frozen=True, slots=True)
class SourceDef:
    """A configured source, as the config declares it."""

    name: str
    url: str
    kind: str  # "feed" | "page" | "sitemap"


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source with its fetch state and health."""

    name: str
    url: str  # current URL (a permanent redirect updates it)
    kind: str
    configured_url: str
    etag: str | None = None
    last_modified: str | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing_since: datetime | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    retired: bool = False  # 410 Gone, or removed from the config
    items_seen: int = 0
    last_new_item_at: datetime | None = None
    # Why it is retired: "removed" (no longer configured), "gone" (HTTP 410) or another word
    # given in SourceUpdate.retired_reason. Only "removed" sources are revived by sync_sources.
    retired_reason: str | None = None


@dataclass(frozen=True, slots=True)
class SourceUpdate:
    """Changes to a source's state after a fetch; ``None`` fields are left unchanged, an empty
    ``etag``/``last_modified`` clears the stored one (the server stopped sending it)."""

    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: datetime | None = None
    retired: bool | None = None
    retired_reason: str | None = None  # with retired=True; default "gone"


@dataclass(frozen=True, slots=True)
class FetchLogEntry:
    """One fetch attempt of a source, successful or not (a failing source becomes data)."""

    source: str
    url: str
    at: datetime
    status: FetchStatus
    http_status: int | None = None
    error: str | None = None
    duration_ms: int = 0
    items: int = 0
    new_items: int = 0


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article about to be stored. ``canonical_url`` is computed by the caller
    (:func:`storage.urls.canonical_url`); ``content_hash`` by :func:`storage.urls.content_hash`."""

    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None
    language: str | None = None
    author: str | None = None
    site_name: str | None = None
    extraction: Extraction = "fulltext"
    extraction_note: str | None = None
    content_hash: str | None = None
    #: more canonical URLs of this article (e.g. the feed's link before a redirect):
    #: :meth:`Store.known_articles` finds the article under them too
    aliases: tuple[str, ...] = ()
    #: when the source says the item was last modified (Atom ``updated``, JSON Feed
    #: ``date_modified``, sitemap ``lastmod``): a later value means a new revision
    item_updated: datetime | None = None
    #: the article page's validators, sent back when the page is revalidated
    page_etag: str | None = None
    page_last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """A stored article; ``sources`` lists every source that carried it (first first)."""

    id: int
    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    first_seen_at: datetime
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None
    language: str | None = None
    author: str | None = None
    site_name: str | None = None
    extraction: Extraction = "fulltext"
    extraction_note: str | None = None
    sources: tuple[str, ...] = ()
    content_hash: str | None = None
    revision: int = 0  # 0: as first stored; +1 for each change of its text
    revised_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PageState:
    """A stored article's revision state: is an item seen again an update, and which
    validators revalidate its page (conditional GET)."""

    article_id: int
    url: str
    first_seen_at: datetime
    extraction: Extraction = "fulltext"
    item_updated: datetime | None = None
    page_etag: str | None = None
    page_last_modified: str | None = None
    checked_at: datetime | None = None
    content_hash: str | None = None
    revision: int = 0
    title: str = ""  # the stored title (a listing's link text, for a page source)


@dataclass(frozen=True, slots=True)
class PageCheck:
    """A revalidated article whose text did not change (304, or the same text): only its
    validators and ``item_updated`` move; ``None`` leaves a value unchanged."""

    article_id: int
    item_updated: datetime | None = None
    page_etag: str | None = None
    page_last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleRevision:
    """A new version of a stored article: its page (or feed text) changed."""

    article_id: int
    title: str
    text: str
    content_hash: str
    extraction: Extraction = "fulltext"
    item_updated: datetime | None = None
    page_etag: str | None = None
    page_last_modified: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class RevisionOutcome:
    """What :meth:`storage.Store.record_revision` did: the article's new revision number, the
    rules it matches now and did not before, and the alerts created for those rules."""

    article_id: int
    revision: int
    new_rules: tuple[str, ...] = ()
    alert_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """A stored rule match of an article, with its evidence."""

    article_id: int
    rule: str
    name: str
    severity: str
    tags: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    matched_at: datetime
    amount_usd: float | None = None
    muted: bool = False
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ArticleOutcome:
    """What :meth:`storage.Store.record_article` did."""

    article_id: int
    created: bool  # False: the article was already stored (same URL, GUID or text)
    alert_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One (article, channel) alert in the outbox. ``id`` is stable across retries."""

    id: str
    article_id: int
    channel: str
    rules: tuple[str, ...]
    status: AlertStatus
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    also_reported_by: tuple[str, ...] = ()
    revision: int = 0  # the article revision that raised it (0: as first stored)
    # Free note: "batched" when sent inside a batch, the reason of a deferral (quiet hours).
    note: str | None = None
    # The retry horizon is counted from here: the creation, or the last manual retry.
    horizon_from: datetime | None = None
    # A delivery lease (see Store.claim_alerts): who is sending it, and until when at most.
    claimed_by: str | None = None
    lease_until: datetime | None = None

    @property
    def horizon_start(self) -> datetime:
        """When the retry horizon started: ``horizon_from``, else ``created_at``."""
        return self.horizon_from or self.created_at


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One article for the digest: the article, its matches and every source that carried it."""

    article: ArticleRecord
    matches: tuple[MatchRecord, ...]


@dataclass(frozen=True, slots=True)
class Mute:
    """A muted rule or source until ``until`` (``None``: until unmuted)."""

    kind: Literal["rule", "source"]
    target: str
    created_at: datetime
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    """Row counts, for health output and tests."""

    sources: int = 0
    articles: int = 0
    matches: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
