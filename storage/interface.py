"""The storage interface the service depends on. SQLite implements it (:mod:`storage.sqlite`);
a PostgreSQL backend can implement the same protocol for multi-machine use.

Every method that changes data takes ``now`` from the caller; none reads the clock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol, TypeAlias

from rules.models import RuleMatch
from storage.models import (
    AlertRecord,
    AlertStatus,
    ArticleOutcome,
    ArticleRecord,
    ArticleRevision,
    Counts,
    DigestEntry,
    FetchLogEntry,
    MatchRecord,
    Mute,
    NewArticle,
    PageCheck,
    PageState,
    RevisionOutcome,
    SourceDef,
    SourceState,
    SourceUpdate,
)

#: One article for :meth:`Store.record_articles`: ``(article, matches, alerts, muted_rules)``,
#: the arguments of :meth:`Store.record_article`.
ArticleBatchItem: TypeAlias = tuple[
    NewArticle, Sequence[RuleMatch], Mapping[str, Sequence[str]], Sequence[str]
]


class Store(Protocol):
    """Persistence for sources, articles, matches, the alert outbox, the fetch log and mutes."""

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None: ...

    def transaction(self, *, atomic_calls: bool = True) -> AbstractContextManager[None]:
        """Several write calls as one transaction (nested: a savepoint); see
        :meth:`storage.sqlite.SQLiteStore.transaction`."""

    # -- sources ---------------------------------------------------------------------------
    def sync_sources(self, sources: Sequence[SourceDef], now: datetime) -> None:
        """Insert new sources, update changed configured URLs/kinds, un-retire re-added ones.
        Sources no longer configured are kept (history) but marked retired."""

    def get_source(self, name: str) -> SourceState | None: ...

    def list_sources(self) -> list[SourceState]: ...

    def conditional_sources(self) -> dict[str, bool]:
        """Every stored source's name: whether it is retired or has an ETag/Last-Modified."""

    def update_source(self, name: str, update: SourceUpdate) -> None:
        """Apply the non-``None`` fields of ``update``."""

    def record_fetch(self, entry: FetchLogEntry) -> None:
        """Append to the fetch log and update the source's health in one transaction:
        ``ok``/``not_modified`` set last_success_at, clear failing_since and
        consecutive_failures; ``error`` sets last_error(_at), increments consecutive_failures
        and sets failing_since if unset. ``items`` adds to items_seen; ``new_items > 0`` sets
        last_new_item_at."""

    def record_poll(self, entry: FetchLogEntry, update: SourceUpdate) -> None:
        """:meth:`record_fetch` then :meth:`update_source` of ``entry.source``, in one
        transaction."""

    def prune_fetch_log(self, before: datetime) -> int:
        """Delete fetch log entries older than ``before``; returns how many went."""

    def fetch_log(self, source: str | None = None, limit: int = 50) -> list[FetchLogEntry]:
        """Newest first."""

    # -- articles --------------------------------------------------------------------------
    def known_article(self, canonical_url: str, guid: str | None = None) -> int | None:
        """The id of a stored article with this canonical URL (or GUID), else ``None``.
        Used to skip fetching pages already stored. URLs under which a duplicate of a stored
        article was seen, and its ``aliases``, count too."""

    def add_article_source(self, article_id: int, source: str, now: datetime) -> None:
        """Remember that ``source`` also carried an already stored article (idempotent); also
        adds it to ``also_reported_by`` of that article's alerts."""

    def known_articles(
        self, keys: Sequence[tuple[str, str | None]], source: str | None = None
    ) -> list[int | None]:
        """:meth:`known_article` for many ``(canonical_url, guid)`` pairs, in order."""

    def add_article_sources(self, article_ids: Sequence[int], source: str, now: datetime) -> None:
        """:meth:`add_article_source` for several articles, in one transaction."""

    def note_page_failures(
        self, failures: Sequence[tuple[str, str]], now: datetime
    ) -> list[tuple[int, datetime]]:
        """Count one more failed attempt (temporary cause) of each ``(key, error)``; returns
        ``(attempts, first_failed_at)`` of each, in order."""

    def clear_page_failures(self, keys: Sequence[str]) -> None:
        """Forget the failed attempts of these pages."""

    def record_articles(
        self, items: Sequence[ArticleBatchItem], now: datetime
    ) -> list[ArticleOutcome]:
        """:meth:`record_article` for a batch (one source's new items), in ONE transaction and
        in order, with the same deduplication (also between items of the batch)."""

    def index_pending(self) -> int:
        """Index the articles stored since the last call for :meth:`search` (which does it
        itself when needed); returns how many."""

    def record_article(
        self,
        article: NewArticle,
        matches: Sequence[RuleMatch],
        alerts: Mapping[str, Sequence[str]],
        now: datetime,
        muted_rules: Sequence[str] = (),
    ) -> ArticleOutcome:
        """Store an article, its matches and its outbox alerts in ONE transaction.

        Deduplicates on canonical URL, then GUID, then content hash: a duplicate is not stored
        again, its source is added to the article's sources (and to ``also_reported_by`` of
        its alerts), and no new alerts are created. ``alerts`` maps channel name to the rule
        ids that channel should be told about (already filtered by the channel's rule filter);
        each (article, channel) pair gets at most one alert per revision of the article. Matches of ``muted_rules``
        are stored with ``muted=True``; an alert whose rules are all muted gets status
        ``muted`` instead of ``pending``.
        """

    def page_states(self, article_ids: Sequence[int]) -> dict[int, PageState]:
        """The revision state of these stored articles (missing ids are left out)."""

    def recent_articles(self, source: str, since: datetime, limit: int = 200) -> list[int]:
        """Ids of the articles first stored from ``source`` since ``since``, newest first."""

    def mark_pages_checked(self, checks: Sequence[PageCheck], now: datetime) -> None:
        """Articles revalidated without a change of text (a 304, or the same text)."""

    def record_revision(
        self,
        revision: ArticleRevision,
        matches: Sequence[RuleMatch],
        alerts: Mapping[str, Sequence[str]],
        now: datetime,
        muted_rules: Sequence[str] = (),
    ) -> RevisionOutcome:
        """Store a changed article in ONE transaction: new title and text, ``revision + 1``,
        the matches of rules it did not match before and one alert per channel for those
        rules only (no alert again for a rule already matched)."""

    def get_article(self, article_id: int) -> ArticleRecord: ...

    def article_matches(self, article_id: int) -> list[MatchRecord]: ...

    def articles_between(self, start: datetime, end: datetime) -> list[ArticleRecord]:
        """Articles first seen in [start, end), oldest first (for backtests)."""

    def search(self, query: str, limit: int = 20) -> list[ArticleRecord]:
        """Full-text search over title and text (SQLite FTS5)."""

    # -- alerts (outbox) -------------------------------------------------------------------
    def due_alerts(self, now: datetime, limit: int = 100) -> list[AlertRecord]:
        """Pending alerts whose next_attempt_at is unset or <= now, oldest first."""

    def pending_alerts(self, channel: str | None = None) -> list[AlertRecord]:
        """Every pending alert (due or not), optionally of one channel, oldest first."""

    def list_alerts(
        self, status: AlertStatus | None = None, limit: int = 100, channel: str | None = None
    ) -> list[AlertRecord]:
        """Alerts, newest first, optionally filtered by status and channel."""

    def get_alert(self, alert_id: str) -> AlertRecord:
        """Raises :class:`storage.errors.NotFoundError` if there is no such alert."""

    def alerts_sent_since(self, channel: str, since: datetime) -> int:
        """How many alerts of ``channel`` were sent at or after ``since`` (for throttling)."""

    def mark_alert_sent(self, alert_id: str, now: datetime, note: str | None = None) -> None:
        """Delivered: status ``sent``, sent_at ``now``, one more attempt; ``note`` (e.g.
        ``"batched"``) replaces any earlier note."""

    def mark_alert_retry(
        self, alert_id: str, now: datetime, error: str, next_attempt_at: datetime
    ) -> None:
        """Count a failed attempt; stays pending until next_attempt_at."""

    def mark_alert_failed(self, alert_id: str, now: datetime, error: str) -> None:
        """Give up (past the retry horizon); the alert is kept with status ``failed``."""

    def mark_alert_muted(self, alert_id: str, now: datetime, reason: str) -> None:
        """Not sent because of a mute found at delivery: status ``muted``, ``reason`` kept in
        its ``note``, no attempt counted."""

    def retry_alert(self, alert_id: str, now: datetime) -> None:
        """Put a failed (or pending) alert back to pending, due now, with 0 attempts and the
        retry horizon restarting at ``now`` (``horizon_from``)."""

    def defer_alert(self, alert_id: str, until: datetime, reason: str) -> None:
        """Postpone without counting an attempt (quiet hours): the alert stays (or becomes)
        pending, due at ``until``; ``reason`` is kept in its ``note``."""

    def claim_alerts(
        self,
        alert_ids: Sequence[str],
        owner: str,
        now: datetime,
        lease: timedelta,
        *,
        due_only: bool = True,
        take_over: Collection[str] = (),
    ) -> list[str]:
        """Atomically lease to ``owner`` (until ``now + lease``) those of ``alert_ids`` that
        are pending, not under another owner's live lease (owners in ``take_over`` are known
        dead: their leases count as expired) and, with ``due_only``, due; return them. Two
        processes claiming the same alerts never both get one. ``mark_alert_*`` and
        ``defer_alert`` end the lease; a crashed owner's lease simply expires."""

    def release_alerts(self, alert_ids: Sequence[str], owner: str) -> int:
        """End ``owner``'s leases on these alerts without an outcome; how many were ended."""

    # -- digest ----------------------------------------------------------------------------
    def digest_entries(
        self, start: datetime, end: datetime, include_muted: bool = False
    ) -> list[DigestEntry]:
        """Articles with at least one match, first seen in [start, end), newest first.
        Matches stored as muted are left out unless ``include_muted``."""

    # -- mutes -----------------------------------------------------------------------------
    def add_mute(self, mute: Mute) -> None: ...

    def remove_mute(self, kind: str, target: str) -> bool: ...

    def active_mutes(self, now: datetime) -> list[Mute]: ...

    # -- stats -----------------------------------------------------------------------------
    def counts(self) -> Counts: ...
