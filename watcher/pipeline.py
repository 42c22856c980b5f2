"""The poll engine: fetch a source, parse it, fetch and extract new articles, match the rules,
route and store. Parsing and extraction run in a process pool so the event loop keeps
fetching; a failing source becomes data (fetch log, health), never an exception."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import httpx

from rules.models import Document, RuleMatch
from storage.errors import DatabaseUnavailableError, StorageError
from storage.interface import ArticleBatchItem, Store
from storage.models import FetchLogEntry, NewArticle, SourceDef, SourceUpdate
from storage.urls import (
    canonical_url,
    content_hash,
    redacted,
    with_userinfo_of,
    without_userinfo,
)
from watcher import pool as worker_pool
from watcher import revisions, robots
from watcher.config import Config, SourceConfig
from watcher.errors import ExtractionError, FetchError, ParseError
from watcher.extract import ExtractedArticle
from watcher.http import Backend, FetchedDoc, Fetcher, make_client
from watcher.jobs import (
    MAX_ITEMS_PER_SOURCE,
    PreparedFeed,
    RuleMatcher,
    extract_many_job,
    match_job,
    parse_job,
)
from watcher.poll_types import (
    Candidate,
    PageFailure,
    PollCounts,
    PollReport,
    SourceReport,
    Status,
)
from watcher.polling import PollHints, adaptive_interval, next_poll_time
from watcher.writegroup import WriteGroup

__all__ = ["PollReport", "Poller", "SourceReport"]

log = logging.getLogger("watcher.poll")
T = TypeVar("T")

MAX_SITEMAP_CHILDREN = 5  # children of a sitemap index fetched per level, newest first
MAX_SITEMAP_FETCHES = 10  # child sitemaps fetched per poll in all (index -> index -> urlset)
PAGE_RETRY_ATTEMPTS = 3  # failed page fetches (temporary cause) before using the feed text
PAGE_RETRY_WINDOW = timedelta(hours=2)  # ... or this long after the first failure
PAGES_PER_JOB = 8  # pages fetched together and extracted in one pool job


def _newest_children(indexes: Sequence[Any], limit: int) -> list[str]:
    """Up to MAX_SITEMAP_CHILDREN child sitemaps of each index, newest ``<lastmod>`` first;
    undated ones after the dated, the newest-looking URL first (a news sitemap, a later date
    or a higher number in the name: :func:`watcher.discovery.sitemap_recency`), ``limit`` in
    all, each URL once."""
    from watcher.discovery import sitemap_recency

    picked: dict[str, None] = {}
    for index in indexes:
        dates = list(index.sitemap_lastmods) + [None] * len(index.sitemaps)
        ranked = sorted(
            zip(index.sitemaps, dates, strict=False),
            key=lambda c: (
                (1, c[1].timestamp(), sitemap_recency(c[0]))
                if c[1] is not None
                else (0, 0.0, sitemap_recency(c[0]))
            ),
            reverse=True,
        )
        for url, _ in ranked[:MAX_SITEMAP_CHILDREN]:
            picked.setdefault(url)
    return list(picked)[:limit]


def retry_left(attempts: int, first_failed: datetime, now: datetime) -> bool:
    """Whether a page that failed for a temporary cause ``attempts`` times, first at
    ``first_failed``, is tried again on a later poll (PAGE_RETRY_ATTEMPTS, PAGE_RETRY_WINDOW)."""
    return attempts < PAGE_RETRY_ATTEMPTS and now - first_failed < PAGE_RETRY_WINDOW


class _Held:
    """Marks an item left for a later poll."""


_HELD = _Held()
# FetchError reasons (without an HTTP status) that another attempt will not change
_PERMANENT_REASONS = (
    "disallowed by robots",
    "too many redirects",
    "body larger",
    "decompressed body larger",
    "unsupported Content-Encoding",
    "corrupt compressed body",
)


class Poller:
    """Polls sources into the store. ``async with Poller(config, store, ruleset) as p``.

    ``workers``: size of the process pool for parsing/extraction/matching (default: the CPU
    count, one less when no source extracts pages; ``0`` runs that work in threads instead,
    for small embedded uses).
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        ruleset: RuleMatcher,
        *,
        client: httpx.AsyncClient | None = None,
        workers: int | None = None,
        fetcher: Fetcher | None = None,
        backend: Backend = "auto",
        sources: Sequence[SourceConfig] | None = None,
        early_pool: worker_pool.EarlyPool | None = None,
    ) -> None:
        self.config = config
        self._backend = backend  # the HTTP transport of a client the poller makes itself
        # the sources it is expected to poll (all configured ones when None): decides whether
        # the pool starts up front (see __aenter__)
        self._expected = list(config.sources if sources is None else sources)
        self.store = store
        # a source's bookkeeping is one write; sources done in the same loop turn share a commit
        self._writes = WriteGroup(store)
        self.ruleset = ruleset
        self._client = client
        self._own_client = client is None and fetcher is None
        # feed-only sources never extract pages: their workers skip importing trafilatura
        self._needs_pages = any(s.fetches_pages for s in config.sources)
        default = worker_pool.default_workers(self._needs_pages)
        self._workers = default if workers is None else workers
        self._early = early_pool  # a pool `watcher poll` started before the poller existed
        self._executor: Executor | None = None
        self._pool_start: asyncio.Future[ProcessPoolExecutor] | None = None
        self._rules_blob: bytes | None = None  # the ruleset as shipped to the workers
        self._blob_made = False
        self.fetcher = fetcher
        self._hints: dict[str, PollHints] = {}
        self._next: dict[str, datetime] = {}
        self._synced = False
        # chunks of pages held in memory at once (bounds memory on big polls)
        self._chunk_slots = asyncio.Semaphore(max(4, config.fetch.max_connections // 2))

    async def __aenter__(self) -> Poller:
        if self._workers > 0:
            # The pool takes ~0.2 s to start (a fresh interpreter, imports, the rules compiled).
            # A source with no ETag/Last-Modified yet will answer with a body to parse, so it
            # starts now, in the background, while the HTTP client is set up and the first
            # fetches go out; otherwise on first use (a poll where all answer 304 needs none).
            # A pool started earlier for this very poll is adopted instead.
            if self._adopt_early_pool() or worker_pool.wanted_at_start(self.store, self._expected):
                self._start_pool()
        elif self._early is not None:
            self._early.discard()
            self._early = None
        try:
            if self.fetcher is None:
                if self._client is None:
                    self._client = make_client(self.config.fetch, backend=self._backend)
                self.fetcher = Fetcher(self._client, self.config.fetch)
        except BaseException:
            await self.__aexit__(None, None, None)  # a pool already starting is stopped
            raise
        return self

    def _adopt_early_pool(self) -> bool:
        """Take over the pool given as ``early_pool`` if it was started for this poller (same
        workers, rules and page extraction); stop it otherwise."""
        early, self._early = self._early, None
        if early is None:
            return False
        if (early.workers, early.rules_blob, early.pages) != (
            self._workers,
            self._shipped_rules(),
            self._needs_pages,
        ):
            early.discard()
            return False
        self._pool_start = asyncio.wrap_future(early.started)
        return True

    def _shipped_rules(self) -> bytes | None:
        """The ruleset pickled once for the workers, so matching runs there too; None when it
        cannot be pickled (e.g. defined in a local scope): matching then stays here. Made when
        a pool is first wanted (a poll where all answer 304 needs neither)."""
        if not self._blob_made:
            self._blob_made = True
            try:
                self._rules_blob = pickle.dumps(self.ruleset)
            except Exception:
                self._rules_blob = None
        return self._rules_blob

    def _start_pool(self) -> asyncio.Future[ProcessPoolExecutor]:
        """The pool's start-up, in a thread (once): the event loop keeps going meanwhile."""
        if self._pool_start is None:  # submitted at once (to_thread would wait for the loop)
            blob = self._shipped_rules()
            self._pool_start = asyncio.get_running_loop().run_in_executor(
                None, worker_pool.start_pool, self._workers, blob, self._needs_pages
            )
        return self._pool_start

    async def __aexit__(self, *exc: object) -> None:
        if self._early is not None:  # given but never entered: not ours to keep
            self._early.discard()
            self._early = None
        try:
            start, self._pool_start = self._pool_start, None
            if self._executor is None and start is not None:  # a pool still starting
                try:
                    self._executor = await asyncio.shield(start)
                except asyncio.CancelledError:  # stopped as soon as it is up, not leaked
                    start.add_done_callback(worker_pool.stop_started_pool)
                    raise
                except Exception:  # it failed to start: nothing to stop
                    pass
            executor, self._executor = self._executor, None
            if executor is not None:
                await worker_pool.shutdown_pool(executor, worker_pool.POOL_SHUTDOWN_S)
        finally:
            if self._own_client and self._client is not None:
                client, self._client = self._client, None
                await client.aclose()

    # -- scheduling --------------------------------------------------------------------------
    def next_poll_at(self, source: SourceConfig, now: datetime) -> datetime:
        """When ``source`` should be polled next (interval, jitter, backoff, Retry-After,
        ttl/max-age lower bound, adaptive interval)."""
        if source.name in self._next:
            return self._next[source.name]
        state = self.store.get_source(source.name)
        if state is not None and state.next_poll_at is not None:
            return state.next_poll_at
        return now

    # -- polling -----------------------------------------------------------------------------
    def _sync(self, now: datetime) -> None:
        if not self._synced:
            self.store.sync_sources(
                [SourceDef(s.name, s.url, s.kind) for s in self.config.sources], now
            )
            self._synced = True

    async def poll(
        self, now: datetime, sources: Sequence[SourceConfig] | None = None
    ) -> PollReport:
        """Poll all (or the given) sources concurrently; failures are reported, not raised."""
        self._sync(now)
        todo = list(self.config.sources if sources is None else sources)
        results = await asyncio.gather(*(self.poll_source(s, now) for s in todo))
        # The search index is not updated here: new articles wait in the store's queue until
        # `watcher poll` has delivered its alerts, the daemon's index job or the next search
        # (~20 us each, in bulk), so a poll's alerts are not held up by it.
        return PollReport(list(results))

    async def poll_source(self, source: SourceConfig, now: datetime) -> SourceReport:
        """Poll one source. Never raises for a fetch/parse problem: it becomes the report."""
        self._sync(now)
        started = time.perf_counter()
        try:
            return await self._poll_source(source, now, started)
        except (FetchError, ParseError) as exc:  # pragma: no cover - handled inside
            return self._failed(source, source.url, now, started, str(exc), None, None, False)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the other sources
            log.exception("source %s: unexpected error", source.name)
            return self._failed_safely(source, now, started, f"internal error: {exc!r}")

    def _failed_safely(
        self, source: SourceConfig, now: datetime, started: float, reason: str
    ) -> SourceReport:
        """The last resort after a bug: record the failure if possible, and never raise (the
        other sources of the poll must still be reported), nor let the source be due at once."""
        try:
            return self._failed(source, source.url, now, started, reason, None, None, False)
        except Exception:
            log.exception("source %s: recording the failure failed too", source.name)
        with contextlib.suppress(Exception):
            self._next[source.name] = now + timedelta(
                seconds=max(self.config.fetch.backoff_cap, 60.0)
            )
        ms = int((time.perf_counter() - started) * 1000)
        return SourceReport(source.name, "error", reason, url=source.url, duration_ms=ms)

    async def _poll_source(
        self, source: SourceConfig, now: datetime, started: float
    ) -> SourceReport:
        assert self.fetcher is not None, "use 'async with Poller(...)'"
        state = self.store.get_source(source.name)
        url = state.url if state is not None else source.url
        if state is not None and state.retired:
            return SourceReport(source.name, "skipped", "retired (410 Gone)", url=url)
        prev = self._hints.get(source.name) or PollHints(
            failures=state.consecutive_failures if state else 0
        )
        try:
            doc = await self.fetcher.fetch(
                url,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
                check_robots=source.kind != "feed",
            )
        except FetchError as exc:
            return self._failed(
                source,
                url,
                now,
                started,
                exc.reason,
                exc.status,
                exc.retry_after,
                exc.permanent,
                prev,
            )
        new_url = (  # (a password in the URL goes along where the host stays the same)
            with_userinfo_of(url, doc.permanent_redirect)
            if doc.permanent_redirect and doc.permanent_redirect != url
            else None
        )
        if doc.not_modified:
            hints = PollHints(0, None, doc.max_age() or prev.min_interval, prev.observed)
            unchanged = PollCounts()
            await self._revisit_listing(source, now, unchanged)
            return await self._conclude(
                source, doc, now, started, "not_modified", hints, new_url, 0, unchanged, prev
            )
        try:
            match_as = None if source.fetches_pages else (source.name, source.language)
            parsed = await self.run_job(
                parse_job,
                source.kind,
                doc.body,
                dict(doc.headers),
                without_userinfo(doc.url),  # (links resolved against it carry no password)
                match_as,
            )
        except ParseError as exc:
            return self._failed(source, url, now, started, str(exc), doc.status, None, False, prev)
        items, min_interval = await self._items(source, parsed, doc)
        counts, store_new = await self._store_items(source, items, now)
        await self._revisit_listing(source, now, counts)
        observed = adaptive_interval((i.published for i in items), source) if source.auto else None
        lower = max(filter(None, (min_interval, doc.max_age())), default=None)
        hints = PollHints(0, None, lower, observed or prev.observed)
        return await self._conclude(
            source, doc, now, started, "ok", hints, new_url, len(items), counts, prev, store_new
        )

    async def _items(
        self, source: SourceConfig, parsed: Any, doc: FetchedDoc
    ) -> tuple[list[Candidate], float | None]:
        if isinstance(parsed, PreparedFeed):
            return [
                Candidate.from_feed(i, prep)
                for i, prep in zip(parsed.feed.items, parsed.prepared, strict=False)
            ], parsed.feed.ttl
        from watcher.discovery import Link, Sitemap

        if isinstance(parsed, Sitemap):
            entries = list(parsed.entries)
            budget = MAX_SITEMAP_FETCHES
            level = [parsed]
            for _ in range(2):  # the index's children, and theirs if they are indexes too
                children = _newest_children(level, min(budget, MAX_SITEMAP_CHILDREN * len(level)))
                budget -= len(children)
                subs = await asyncio.gather(*(self._child_sitemap(source, c) for c in children))
                level = [sub for sub in subs if sub is not None]
                for sub in level:
                    entries.extend(sub.entries)
                if budget <= 0:
                    break
            entries.sort(key=lambda e: e.lastmod.timestamp() if e.lastmod else 0.0, reverse=True)
            return [
                Candidate(
                    e.url,
                    None,
                    e.title,
                    published=e.lastmod,
                    language=e.language,
                    updated=e.lastmod,
                )
                for e in entries[:MAX_ITEMS_PER_SOURCE]
            ], None
        links: list[Link] = parsed
        return [
            Candidate(link.url, None, link.title) for link in links[:MAX_ITEMS_PER_SOURCE]
        ], None

    async def _child_sitemap(self, source: SourceConfig, url: str) -> Any:
        try:
            doc = await self.fetcher.fetch(url, check_robots=True)  # type: ignore[union-attr]
            return await self.run_job(parse_job, "sitemap", doc.body, {}, without_userinfo(doc.url))
        except (FetchError, ParseError) as exc:
            log.info("source %s: child sitemap %s skipped: %s", source.name, url, exc)
            return None

    async def run_job(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a job of :mod:`watcher.jobs` in the worker pool (in a thread when the poller has
        no workers). A worker failure becomes a ParseError (for parse_job) or an
        ExtractionError."""
        loop = asyncio.get_running_loop()
        used: Executor | None = None
        try:
            if self._workers <= 0:
                return await asyncio.to_thread(fn, *args)
            used = await self._ready_pool()
            return await loop.run_in_executor(used, fn, *args)
        except (ParseError, ExtractionError):
            raise
        except Exception as exc:  # a parser bug, BrokenProcessPool, pickling, worker crash
            # Only the pool this job ran on is replaced: jobs in flight on it all fail at once,
            # and a later one must not discard the fresh pool an earlier one already started.
            if "Broken" in type(exc).__name__ and used is not None and self._executor is used:
                used.shutdown(wait=False, cancel_futures=True)
                self._executor = None  # a fresh pool starts on the next job
                self._pool_start = None
            err = ParseError if fn is parse_job else ExtractionError
            raise err(f"worker failed: {type(exc).__name__}: {exc}") from exc

    async def _ready_pool(self) -> Executor:
        """The pool, started (once) if there is none; every job waiting for one start gets
        the same pool."""
        if self._executor is not None:
            return self._executor
        started = self._start_pool()
        try:
            pool = await asyncio.shield(started)
        except Exception:
            if self._pool_start is started:
                self._pool_start = None  # the next job tries a fresh pool
            raise
        if self._pool_start is not started:  # the poller is closing: __aexit__ stops it
            raise RuntimeError("the worker pool is shutting down")
        if self._executor is None:
            self._executor = pool
        return self._executor

    # -- articles ----------------------------------------------------------------------------
    async def _store_items(
        self, source: SourceConfig, items: list[Candidate], now: datetime
    ) -> tuple[PollCounts, Callable[[PollCounts], None] | None]:
        """Prepare the source's new items (pages fetched, extracted and matched); returns the
        counts so far and the synchronous write that stores them and completes the counts it
        is given (``None`` when there is nothing to store), run by the caller with the
        source's bookkeeping."""
        counts = PollCounts()
        source_muted, muted_rules = self._mutes(source, now)
        todo, known, carried = self._unknown_items(source, items)
        if known and not revisions.stamps_every_item(items):
            try:
                await revisions.revisit(self, source, known, now, counts, source_muted, muted_rules)
            except Exception as exc:  # never at the expense of the new items below
                log.warning("source %s: checking updated articles failed: %s", source.name, exc)
                counts.notes.append(f"updated articles not checked: {type(exc).__name__}: {exc}")
        chunks = [todo[i : i + PAGES_PER_JOB] for i in range(0, len(todo), PAGES_PER_JOB)]
        prepared = await asyncio.gather(
            *(self._prepare_chunk(source, c, counts, now) for c in chunks)
        )
        # one result per item, in order (None: skipped or held for a retry)
        items_in_order = [it for chunk in chunks for it, _ in chunk]
        ready: list[tuple[NewArticle, Document]] = []
        found: list[list[RuleMatch] | None] = []
        for item, built in zip(items_in_order, (p for c in prepared for p in c), strict=True):
            if built is not None:
                ready.append(built)
                found.append(item.prepared.matches if item.prepared is not None else None)
        if not ready:
            if not carried and not counts.done_keys:
                return counts, None

            def bookkeeping(_: PollCounts) -> None:
                if carried:
                    self.store.add_article_sources(carried, source.name, now)
                if counts.done_keys:  # pages that made it after all (their retry rows go)
                    self.store.clear_page_failures(counts.done_keys)

            return counts, bookkeeping
        missing = [i for i, m in enumerate(found) if m is None]
        if missing:  # not matched by the parse job: pages, sitemaps, thread mode
            matched = await self.match_documents([ready[i][1] for i in missing])
            for i, m in zip(missing, matched, strict=True):
                found[i] = list(m)
        all_matches: list[Sequence[RuleMatch]] = [m or [] for m in found]

        def store_new(done: PollCounts) -> None:
            if carried:  # stored already: they only gain this source
                self.store.add_article_sources(carried, source.name, now)
            self._record_all(ready, all_matches, now, source_muted, muted_rules, done)
            if done.done_keys:  # their earlier failed attempts (if any) are history
                self.store.clear_page_failures(done.done_keys)

        return counts, store_new

    def _mutes(self, source: SourceConfig, now: datetime) -> tuple[bool, set[str]]:
        """Whether ``source`` is muted now, and which rules are."""
        mutes = self.store.active_mutes(now)
        source_muted = any(m.kind == "source" and m.target == source.name for m in mutes)
        return source_muted, {m.target for m in mutes if m.kind == "rule"}

    async def _revisit_listing(
        self, source: SourceConfig, now: datetime, counts: PollCounts
    ) -> None:
        """A listing page gives no modification times: its young articles are revalidated by
        age instead (see :mod:`watcher.revisions`), whether or not the listing changed."""
        if source.kind != "page":
            return
        try:
            source_muted, muted_rules = self._mutes(source, now)
            await revisions.revisit_recent(self, source, now, counts, source_muted, muted_rules)
        except Exception as exc:  # never at the expense of the poll itself
            log.warning("source %s: checking updated articles failed: %s", source.name, exc)
            counts.notes.append(f"updated articles not checked: {type(exc).__name__}: {exc}")

    def _unknown_items(
        self, source: SourceConfig, items: list[Candidate]
    ) -> tuple[list[tuple[Candidate, str | None]], list[tuple[Candidate, int]], list[int]]:
        """Items not stored yet (one batched lookup); the known items that state a
        modification time (revision candidates); the ids of all known ones (they only gain
        this source, in the source's write)."""
        seen: set[str] = set()
        fresh: list[tuple[Candidate, str | None]] = []
        for item in items:
            if item.prepared is not None:
                canon = item.prepared.canonical_url
            else:
                canon = canonical_url(item.url) if item.url else None
            key = canon or item.guid or ""
            if key and key in seen:
                continue
            seen.add(key)
            fresh.append((item, canon))
        if not fresh:
            return [], [], []
        known_ids = self.store.known_articles(
            [(canon or "", it.guid) for it, canon in fresh], source=source.name
        )
        known = [k for k in known_ids if k is not None]
        todo = [pair for pair, k in zip(fresh, known_ids, strict=True) if k is None]
        updated = [
            (it, k)
            for (it, _), k in zip(fresh, known_ids, strict=True)
            if k is not None and it.updated is not None
        ]
        return todo, updated, known

    def _record_all(
        self,
        ready: list[tuple[NewArticle, Document]],
        all_matches: list[Sequence[RuleMatch]],
        now: datetime,
        source_muted: bool,
        muted_rules: set[str],
        counts: PollCounts,
    ) -> None:
        """Store one source's new articles (inside the source's write, see :meth:`_conclude`)."""
        from watcher.alerts.routing import route  # not needed by a poll with nothing new

        batch: list[ArticleBatchItem] = []
        for (article, _), found in zip(ready, all_matches, strict=True):
            matches = list(found)
            routes: Mapping[str, Sequence[str]] = (
                route(matches, self.config.alerts) if matches else {}
            )
            muted = [m.rule for m in matches if source_muted or m.rule in muted_rules]
            batch.append((article, matches, routes, muted))
        outcomes = self.store.record_articles(batch, now)
        for item, outcome in zip(batch, outcomes, strict=True):
            if outcome.created:
                counts.new += 1
                counts.matched += 1 if item[1] else 0
                counts.alerts += len(outcome.alert_ids)

    async def match_documents(self, docs: list[Document]) -> list[Sequence[RuleMatch]]:
        """Match a batch of documents, in the pool when the ruleset could be shipped there."""
        if self._workers > 0 and self._shipped_rules() is not None:
            try:
                return await self.run_job(match_job, docs)
            except ExtractionError as exc:
                log.warning("matching in the worker pool failed (%s); matching here", exc)
        return [self.ruleset.match(d) for d in docs]

    async def _prepare_chunk(
        self,
        source: SourceConfig,
        chunk: list[tuple[Candidate, str | None]],
        counts: PollCounts,
        now: datetime,
    ) -> list[tuple[NewArticle, Document] | None]:
        """Fetch a few pages concurrently, extract them in ONE pool job (few round trips keep
        the event loop free), then build the articles (feed text as fallback). A page that
        failed for a temporary cause leaves its item for the next polls, up to
        PAGE_RETRY_ATTEMPTS failures or PAGE_RETRY_WINDOW, before the feed text is used."""
        if not source.fetches_pages:
            return [
                self._build(source, it, canon, None, None, it.url, counts) for it, canon in chunk
            ]
        async with self._chunk_slots:
            attempts = await asyncio.gather(*(self._fetch_page(it) for it, _ in chunk))
            fetched = await self._hold_temporary(chunk, attempts, counts, now)
            pages = [(d.body, d.url, d.content_type) for d in fetched if isinstance(d, FetchedDoc)]
            results: list[ExtractedArticle | str] = []
            if pages:
                try:
                    results = await self.run_job(extract_many_job, pages)
                except ExtractionError as exc:
                    results = [str(exc)] * len(pages)
        out: list[tuple[NewArticle, Document] | None] = []
        it_results = iter(results)
        for (item, canon), doc in zip(chunk, fetched, strict=True):
            if isinstance(doc, _Held):
                out.append(None)
                continue
            counts.done_keys.append(canon or item.url or "")
            if isinstance(doc, FetchedDoc):
                res = next(it_results)
                if isinstance(res, ExtractedArticle):
                    out.append(self._build(source, item, canon, res, None, doc.url, counts, doc))
                else:
                    out.append(self._build(source, item, canon, None, res, doc.url, counts))
            else:
                reason = doc.reason if doc is not None else None
                out.append(self._build(source, item, canon, None, reason, item.url, counts))
        return out

    async def _fetch_page(self, item: Candidate) -> FetchedDoc | PageFailure | None:
        if not item.url:
            return None
        try:
            return await self.fetcher.fetch(item.url, check_robots=True)  # type: ignore[union-attr]
        except FetchError as exc:
            return PageFailure(str(exc), self.is_temporary(exc))

    def is_temporary(self, exc: FetchError) -> bool:
        """Might a later attempt fetch this page? (timeouts, refused connections, 429, 5xx,
        a host blocked by its Retry-After, an unreachable robots.txt)"""
        if exc.permanent:
            return False
        if exc.status is not None:
            return exc.status in (408, 425, 429) or exc.status >= 500
        if exc.reason.startswith(robots.UNREACHABLE):  # asked again after a while
            return True
        return not exc.reason.startswith(_PERMANENT_REASONS)

    async def _hold_temporary(
        self,
        chunk: list[tuple[Candidate, str | None]],
        fetched: list[FetchedDoc | PageFailure | None],
        counts: PollCounts,
        now: datetime,
    ) -> list[FetchedDoc | PageFailure | _Held | None]:
        """Replace temporary failures still worth retrying by ``_HELD`` (counted in the
        store); the ones out of retries become plain failures with the attempts noted."""
        failed = [
            (i, canon or item.url or "", doc)
            for i, ((item, canon), doc) in enumerate(zip(chunk, fetched, strict=True))
            if isinstance(doc, PageFailure) and doc.temporary
        ]
        out: list[FetchedDoc | PageFailure | _Held | None] = list(fetched)
        if not failed:
            return out
        seen = self.store.note_page_failures([(key, doc.reason) for _, key, doc in failed], now)
        for (i, _, doc), (attempts, first) in zip(failed, seen, strict=True):
            if retry_left(attempts, first, now):
                out[i] = _HELD
                counts.held += 1
                counts.notes.append(f"{doc.reason} (attempt {attempts}; retried next poll)")
            else:
                out[i] = PageFailure(
                    f"{doc.reason} (temporary, gave up after {attempts} attempts)", False
                )
        return out

    def _build(
        self,
        source: SourceConfig,
        item: Candidate,
        canon: str | None,
        extracted: ExtractedArticle | None,
        note: str | None,
        final_url: str | None,
        counts: PollCounts,
        page: FetchedDoc | None = None,
    ) -> tuple[NewArticle, Document] | None:
        extraction: Literal["fulltext", "feed", "feed-fallback"] = (
            "fulltext" if extracted is not None else "feed"
        )
        if extracted is None:
            if source.fetches_pages:
                if not item.feed_text:
                    counts.notes.append(f"{item.url}: skipped: {note}")
                    return None
                extraction = "feed-fallback"
                note = f"page not used: {note}" if note else "item has no link"
                counts.notes.append(f"{item.url}: {note}")
            text = item.feed_text
            title = item.title
            language = item.feed_language(source)
            published = item.published
            author, site_name = item.author, None
        else:
            text = extracted.text
            title = item.title or extracted.title
            language = extracted.language or item.language or source.language
            published = item.published or extracted.published
            author = item.author or extracted.author
            site_name = extracted.site_name
        # the worker hashed the feed text of a source whose articles are that text
        fingerprint = item.prepared.feed_hash if item.prepared is not None else None
        url = final_url or item.url or ""
        article_canon = (canon or "") if url == item.url else canonical_url(url)
        article = NewArticle(
            url=url,
            canonical_url=article_canon,
            # a link that redirected: remembered so the next poll knows it without a fetch
            aliases=(canon,) if canon and canon != article_canon else (),
            source=source.name,
            title=title,
            text=text,
            guid=item.guid,
            summary=item.summary[:1000],
            published=published,
            language=language,
            author=author,
            site_name=site_name,
            extraction=extraction,
            extraction_note=note if extraction == "feed-fallback" else None,
            content_hash=(fingerprint if fingerprint is not None else content_hash(title, text))
            or None,
            item_updated=item.updated,
            page_etag=page.etag if page is not None else None,
            page_last_modified=page.last_modified if page is not None else None,
        )
        doc = Document(text=text, title=title, url=url, source=source.name, language=language)
        return article, doc

    # -- bookkeeping -------------------------------------------------------------------------
    async def _conclude(
        self,
        source: SourceConfig,
        doc: FetchedDoc,
        now: datetime,
        started: float,
        status: Status,
        hints: PollHints,
        new_url: str | None,
        n_items: int,
        counts: PollCounts,
        prev: PollHints,
        store_new: Callable[[PollCounts], None] | None = None,
    ) -> SourceReport:
        """Store the source's new articles (``store_new``) and its fetch bookkeeping as one
        write of the poll's write group; the poller's own schedule of the source moves only
        once that write is committed. A write the database refuses makes the source failed
        (backoff from ``prev``, its state before this poll), nothing of it stored."""

        def write() -> tuple[SourceReport, datetime]:
            # counted on a copy: a write may run twice (alone again, see watcher.writegroup)
            done = dataclasses.replace(counts, notes=[*counts.notes], done_keys=[*counts.done_keys])
            if store_new is not None:
                store_new(done)
            return self._finish(source, doc, now, started, status, hints, new_url, n_items, done)

        try:
            report, nxt = await self._writes.run(write)
        except StorageError as exc:
            return self._store_failed(source, doc.url, now, started, exc, doc.status, prev)
        self._hints[source.name] = hints
        self._next[source.name] = nxt
        return report

    def _store_failed(
        self,
        source: SourceConfig,
        url: str,
        now: datetime,
        started: float,
        exc: StorageError,
        status: int | None,
        prev: PollHints,
    ) -> SourceReport:
        """The source answered but its results could not be stored (disk full, a locked or
        broken database): a failure of the source for its schedule, so that the next poll
        fetches it whole again. Recorded if the store still takes that much; not tried when
        the database itself is unavailable (locked: it would only wait for the lock again,
        on the event loop, once per source)."""
        reason = f"storing failed: {exc}"
        if not isinstance(exc, DatabaseUnavailableError):
            try:
                return self._failed(source, url, now, started, reason, status, None, False, prev)
            except StorageError as again:
                log.warning("source %s: recording the failure failed too: %s", source.name, again)
        else:
            log.warning(
                "source %s (%s) failed: %s (not recorded)", source.name, redacted(url), reason
            )
        return self._failure(source, url, now, started, reason, status, None, prev)[0]

    def _finish(
        self,
        source: SourceConfig,
        doc: FetchedDoc,
        now: datetime,
        started: float,
        status: Status,
        hints: PollHints,
        new_url: str | None,
        n_items: int,
        counts: PollCounts,
    ) -> tuple[SourceReport, datetime]:
        """The fetch log entry and source state of a source done (see :meth:`_conclude`);
        returns its report and when it is due next."""
        ms = int((time.perf_counter() - started) * 1000)
        nxt = next_poll_time(source, self.config.fetch, hints, now)
        etag = modified = None  # a 304 keeps the stored validators
        if status == "ok":  # "" clears validators the server stopped sending; items held
            # back for a page retry need a full GET next time (a 304 would not list them again)
            etag = "" if counts.held else doc.etag or ""
            modified = "" if counts.held else doc.last_modified or ""
        self.store.record_poll(
            FetchLogEntry(
                source.name,
                redacted(doc.url),
                now,
                status,
                doc.status,
                None,
                ms,
                n_items,
                counts.new,
            ),
            SourceUpdate(url=new_url, etag=etag, last_modified=modified, next_poll_at=nxt),
        )
        report = SourceReport(
            source.name,
            status,
            None,
            doc.status,
            n_items,
            counts.new,
            counts.matched,
            counts.alerts,
            new_url or doc.url,
            ms,
            tuple(counts.notes),
            counts.revised,
        )
        return report, nxt

    def _failed(
        self,
        source: SourceConfig,
        url: str,
        now: datetime,
        started: float,
        reason: str,
        status: int | None,
        retry_after: float | None,
        permanent: bool,
        prev: PollHints | None = None,
    ) -> SourceReport:
        report, nxt = self._failure(source, url, now, started, reason, status, retry_after, prev)
        shown = report.error  # the reason without a password (see _failure)
        log.warning("source %s (%s) failed: %s", source.name, redacted(url), shown)
        self.store.record_poll(
            FetchLogEntry(
                source.name, redacted(url), now, "error", status, shown, report.duration_ms
            ),
            SourceUpdate(next_poll_at=nxt, retired=True if permanent else None),
        )
        return report

    def _failure(
        self,
        source: SourceConfig,
        url: str,
        now: datetime,
        started: float,
        reason: str,
        status: int | None,
        retry_after: float | None,
        prev: PollHints | None,
    ) -> tuple[SourceReport, datetime]:
        """A failed poll in the poller's own schedule (backoff from ``prev``, else from the
        hints it keeps): its report and when the source is due next. The reason is shown
        without a password (a parse error quotes the URL, password and all)."""
        reason = redacted(reason)
        ms = int((time.perf_counter() - started) * 1000)
        prev = prev or self._hints.get(source.name) or PollHints()
        hints = PollHints(prev.failures + 1, retry_after, prev.min_interval, prev.observed)
        self._hints[source.name] = hints
        nxt = next_poll_time(source, self.config.fetch, hints, now)
        self._next[source.name] = nxt
        return SourceReport(source.name, "error", reason, status, url=url, duration_ms=ms), nxt


def retry_delay(now: datetime, when: datetime) -> timedelta:
    """Helper for schedulers: how long from ``now`` until ``when`` (never negative)."""
    return max(timedelta(0), when - now)
