"""Updated articles: when a source says a stored item changed, revalidate it.

An item already stored is revisited when its source states a modification time (Atom
``<updated>``, JSON Feed ``date_modified``, sitemap ``lastmod``) later than the one stored
(or, when none was stored, later than when the article was first seen). Its page is fetched
again with ``If-None-Match`` / ``If-Modified-Since`` from the first fetch: a 304 costs no
extraction and no matching. A changed text is stored as a new revision and matched again; only
rules the article did not match before raise alerts (one update alert per channel), so an edit
that adds "DeepSeek" to a story alerts once and a typo fix alerts nobody.

Bounds, so that a revisit never becomes a loop:

- at most :data:`MAX_REVISITS_PER_POLL` revisits per source and poll (newest first), none
  sooner than :data:`MIN_REVISIT_GAP` after the last check of the same article;
- a feed that gives every item the same modification time (its generation time) announces
  nothing, and is ignored;
- a page that fails for a temporary cause is retried on the next polls like a new article's
  page (``watcher.pipeline.retry_left``), then this revision is given up;
- a text whose only change is a counter or a time stamp ("refreshed 5 minutes ago") is not a
  revision: it needs a new title or :data:`MIN_NEW_WORDS` words (or :data:`MIN_NEW_CHARS`
  characters of words) that the old text did not have;
- a page that now redirects elsewhere (a removed story sent to the home page) is not a
  revision of the article;
- a feed-only source revisits with its feed text, never replacing a full text extracted from
  the page.

A listing page (``kind = "page"``) states no modification time, so the articles it led to are
revalidated on a schedule instead, while they are young (:data:`PAGE_REVISIT_WINDOW`): each
again once a third of its age has passed since its last check, and at least
:data:`PAGE_REVISIT_MIN_GAP` later (about ten conditional GETs over two days, most of them
answered 304), within the same per-poll bound, also when the listing itself is unchanged.
An article stored from its link text because its page failed (``feed-fallback``) gets its
full text this way once the page works.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rules.models import Document
from storage.models import ArticleRevision, PageCheck, PageState
from storage.urls import canonical_url, content_hash
from watcher.poll_types import Candidate, PageFailure, PollCounts

if TYPE_CHECKING:  # the poller imports this module
    from watcher.config import SourceConfig
    from watcher.http import FetchedDoc
    from watcher.pipeline import Poller

log = logging.getLogger("watcher.poll")  # the poll engine's logger

MAX_REVISITS_PER_POLL = 10
MIN_REVISIT_GAP = timedelta(minutes=10)
MIN_NEW_WORDS = 3
MIN_NEW_CHARS = 20
PAGE_REVISIT_WINDOW = timedelta(hours=48)
PAGE_REVISIT_MIN_GAP = timedelta(hours=1)
PAGE_REVISIT_AGE_SHARE = 3  # revalidated again once 1/3 of its age has passed since the last
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Revisit:
    """A stored article to revalidate, with the item that announced the change."""

    item: Candidate
    state: PageState


def stamps_every_item(items: Sequence[Candidate]) -> bool:
    """Whether the source gives all its (several) items one modification time: a generation
    time, not news about any of them."""
    stamps = {i.updated for i in items}
    return len(items) > 1 and len(stamps) == 1 and None not in stamps


def due_revisits(
    known: Sequence[tuple[Candidate, int]],
    states: dict[int, PageState],
    now: datetime,
    *,
    uses_page: bool,
    limit: int = MAX_REVISITS_PER_POLL,
) -> list[Revisit]:
    """The known items whose source announces a newer revision, newest first, within the
    politeness bounds. ``known``: (item, stored article id) pairs."""
    out: dict[int, Revisit] = {}
    for item, article_id in known:
        state = states.get(article_id)
        if item.updated is None or state is None or article_id in out:
            continue
        if item.updated <= (state.item_updated or state.first_seen_at):
            continue
        if state.checked_at is not None and now - state.checked_at < MIN_REVISIT_GAP:
            continue
        if not uses_page and state.extraction == "fulltext":
            continue  # the feed text would replace the page's full text
        out[article_id] = Revisit(item, state)
    ranked = sorted(out.values(), key=lambda r: r.item.updated or now, reverse=True)
    return ranked[:limit]


def due_by_age(
    states: Sequence[PageState], now: datetime, *, limit: int = MAX_REVISITS_PER_POLL
) -> list[PageState]:
    """The young articles of a listing source due for a check (see the module docstring),
    the most overdue first (the time since the last check over the interval it was due
    after), so that a backlog of old articles does not delay the young ones."""
    due: list[tuple[float, int, PageState]] = []
    for st in states:
        age = now - st.first_seen_at
        if age > PAGE_REVISIT_WINDOW or st.extraction == "feed":
            continue
        waited = now - (st.checked_at or st.first_seen_at)
        interval = max(PAGE_REVISIT_MIN_GAP, age / PAGE_REVISIT_AGE_SHARE)
        if waited >= interval:
            due.append((waited / interval, st.article_id, st))
    due.sort(key=lambda d: (d[0], d[1]), reverse=True)
    return [st for _, _, st in due[:limit]]


def meaningful_change(old: str, new: str) -> bool:
    """Whether ``new`` says something ``old`` did not: enough words that are new to it (a
    changed counter, clock or date stamp is one or two short words)."""
    before = set(_WORD.findall(old.casefold()))
    added = {w for w in _WORD.findall(new.casefold()) if w not in before}
    return len(added) >= MIN_NEW_WORDS or sum(map(len, added)) >= MIN_NEW_CHARS


def _retry_key(state: PageState) -> str:
    return "revisit:" + canonical_url(state.url)


async def revisit(
    poller: Poller,
    source: SourceConfig,
    known: list[tuple[Candidate, int]],
    now: datetime,
    counts: PollCounts,
    source_muted: bool,
    muted_rules: set[str],
) -> None:
    """Revalidate the stored articles ``source`` says changed and store those whose text did
    as new revisions (see the module docstring). Problems become notes, never exceptions."""
    states = poller.store.page_states([aid for _, aid in known])
    due = due_revisits(known, states, now, uses_page=source.fetches_pages)
    await _revalidate(poller, source, due, now, counts, source_muted, muted_rules)


async def revisit_recent(
    poller: Poller,
    source: SourceConfig,
    now: datetime,
    counts: PollCounts,
    source_muted: bool,
    muted_rules: set[str],
) -> None:
    """Revalidate the young articles of a listing source that are due by age (see the module
    docstring); the same bounds and outcomes as :func:`revisit`."""
    ids = poller.store.recent_articles(source.name, now - PAGE_REVISIT_WINDOW)
    if not ids:
        return
    states = poller.store.page_states(ids)
    due = [
        # the stored title stands: only a new text makes a revision (the listing's link text
        # was stored as the title, and the page's own <title> is not news)
        Revisit(Candidate(st.url, title=st.title), st)
        for st in due_by_age(list(states.values()), now)
    ]
    await _revalidate(poller, source, due, now, counts, source_muted, muted_rules, hold=False)


async def _revalidate(
    poller: Poller,
    source: SourceConfig,
    due: list[Revisit],
    now: datetime,
    counts: PollCounts,
    source_muted: bool,
    muted_rules: set[str],
    *,
    hold: bool = True,
) -> None:
    """Fetch (or take from the feed) the texts of ``due``, store the changed ones as new
    revisions and mark the others checked. ``hold``: a page failing for a temporary cause
    holds the source's validators back, so that the next poll lists the item again, and is
    retried like a new article's page; without it (revisits by age) a failure counts as a
    check, and the age schedule brings the page back."""
    if not due:
        return
    uses_page = source.fetches_pages
    checks: list[PageCheck] = []
    # (revisit, title, text, language, the page when fetched)
    texts: list[tuple[Revisit, str, str, str | None, FetchedDoc | None]] = []
    if uses_page:
        await _fetch_pages(poller, source, due, now, counts, checks, texts, hold=hold)
    else:
        for r in due:
            texts.append((r, r.item.title, r.item.feed_text, r.item.feed_language(source), None))
    changed: list[tuple[ArticleRevision, Document]] = []
    for r, title, text, lang, page in texts:
        etag = page.etag if page is not None else None
        modified = page.last_modified if page is not None else None
        old = poller.store.get_article(r.state.article_id)
        if old.title == title and not meaningful_change(old.text, text):
            checks.append(PageCheck(r.state.article_id, r.item.updated, etag, modified))
            continue
        rev = ArticleRevision(
            r.state.article_id,
            title,
            text,
            content_hash(title, text),
            "fulltext" if page is not None else "feed",
            r.item.updated,
            etag,
            modified,
            lang,
        )
        changed.append((rev, Document(text, title, r.state.url, source.name, lang)))
    await _store_revisions(poller, source, changed, now, counts, source_muted, muted_rules)
    if checks:
        poller.store.mark_pages_checked(checks, now)


async def _fetch_pages(
    poller: Poller,
    source: SourceConfig,
    due: list[Revisit],
    now: datetime,
    counts: PollCounts,
    checks: list[PageCheck],
    texts: list[tuple[Revisit, str, str, str | None, FetchedDoc | None]],
    *,
    hold: bool = True,
) -> None:
    """Fetch the pages of ``due`` conditionally and extract those that changed; fills
    ``checks`` (nothing new) and ``texts`` (a new text to compare)."""
    import asyncio

    from watcher.errors import ExtractionError
    from watcher.extract import ExtractedArticle
    from watcher.http import FetchedDoc
    from watcher.jobs import extract_many_job
    from watcher.pipeline import retry_left

    docs = await asyncio.gather(*(_fetch_again(poller, r) for r in due))
    usable: list[tuple[Revisit, FetchedDoc]] = []
    failed: list[tuple[Revisit, PageFailure]] = []
    done_keys: list[str] = []
    for r, d in zip(due, docs, strict=True):
        aid = r.state.article_id
        if not isinstance(d, FetchedDoc):
            failed.append((r, d))
            continue
        done_keys.append(_retry_key(r.state))
        if canonical_url(d.url) != canonical_url(r.state.url):
            # a removed story redirected to the home page or a login wall: not this article
            counts.notes.append(f"{r.state.url}: revision not used: the page now leads to {d.url}")
            checks.append(PageCheck(aid, r.item.updated))
        elif d.not_modified:
            checks.append(PageCheck(aid, r.item.updated, d.etag, d.last_modified))
        else:
            usable.append((r, d))
    if failed and not hold:  # revisits by age: the age schedule is the retry
        for r, f in failed:
            counts.notes.append(f"{r.state.url}: revision not checked: {f.reason}")
            checks.append(PageCheck(r.state.article_id, r.item.updated))
        failed = []
    if failed:
        temporary = [(r, f) for r, f in failed if f.temporary]
        seen = poller.store.note_page_failures(
            [(_retry_key(r.state), f.reason) for r, f in temporary],
            now,
        )
        attempts = iter(seen)  # in the order of ``temporary``
        for r, f in failed:
            if f.temporary and retry_left(*next(attempts), now):
                counts.held += 1  # the next poll must list the item again (no feed 304)
                counts.notes.append(f"{r.state.url}: revision not checked yet: {f.reason}")
            else:  # gone, refused, or out of retries: this revision is given up
                counts.notes.append(f"{r.state.url}: revision not checked: {f.reason}")
                checks.append(PageCheck(r.state.article_id, r.item.updated))
                done_keys.append(_retry_key(r.state))
    if done_keys:
        poller.store.clear_page_failures(done_keys)
    if not usable:
        return
    pages = [(d.body, d.url, d.content_type) for _, d in usable]
    try:
        results = await poller.run_job(extract_many_job, pages)
    except ExtractionError as exc:
        results = [str(exc)] * len(pages)
    for (r, d), res in zip(usable, results, strict=True):
        if isinstance(res, ExtractedArticle):
            lang = res.language or r.item.language or source.language
            texts.append((r, r.item.title or res.title, res.text, lang, d))
        else:
            counts.notes.append(f"{r.state.url}: revision not extracted: {res}")
            checks.append(PageCheck(r.state.article_id, r.item.updated, d.etag, d.last_modified))


async def _fetch_again(poller: Poller, r: Revisit) -> FetchedDoc | PageFailure:
    """The stored article's page, conditionally (its validators from the last fetch)."""
    from watcher.errors import FetchError

    assert poller.fetcher is not None
    try:
        return await poller.fetcher.fetch(
            r.state.url,
            etag=r.state.page_etag,
            last_modified=r.state.page_last_modified,
            check_robots=True,
        )
    except FetchError as exc:
        return PageFailure(str(exc), poller.is_temporary(exc))


async def _store_revisions(
    poller: Poller,
    source: SourceConfig,
    changed: list[tuple[ArticleRevision, Document]],
    now: datetime,
    counts: PollCounts,
    source_muted: bool,
    muted_rules: set[str],
) -> None:
    if not changed:
        return
    from watcher.alerts.routing import route

    found = await poller.match_documents([doc for _, doc in changed])
    for (rev, _), matches in zip(changed, found, strict=True):
        ms = list(matches)
        muted = [m.rule for m in ms if source_muted or m.rule in muted_rules]
        routes = route(ms, poller.config.alerts) if ms else {}
        outcome = poller.store.record_revision(rev, ms, routes, now, muted)
        counts.revised += 1
        counts.alerts += len(outcome.alert_ids)
        log.info(
            "source %s: article %d changed (revision %d)%s",
            source.name,
            rev.article_id,
            outcome.revision,
            f"; newly matches {', '.join(outcome.new_rules)}" if outcome.new_rules else "",
        )
