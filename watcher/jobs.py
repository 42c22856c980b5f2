"""Work done in the process pool: parsing sources, extracting pages, matching feed items.

Kept apart from :mod:`watcher.pipeline` so a worker imports only what it runs (feeds, rules,
extraction), not the HTTP client, the config or the store: a pool starts faster and is
smaller. Every job is a top-level function (picklable)."""

from __future__ import annotations

import copyreg
import pickle
import signal
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from rules.models import Document, Evidence, RuleMatch
from storage.urls import canonical_url, content_hash
from watcher.errors import ExtractionError
from watcher.extract import ExtractedArticle, extract_article, guess_language
from watcher.feeds import FeedItem, ParsedFeed, constructor_call, parse_feed

__all__ = [
    "MAX_ITEMS_PER_SOURCE",
    "Prepared",
    "PreparedFeed",
    "RuleMatcher",
    "extract_many_job",
    "init_worker",
    "match_job",
    "noop",
    "parse_job",
    "prepare",
]

MAX_ITEMS_PER_SOURCE = 200


class RuleMatcher(Protocol):
    def match(self, document: Document) -> Sequence[RuleMatch]: ...


class Prepared(NamedTuple):
    """Per feed item, computed in the worker, off the event loop."""

    canonical_url: str | None
    # Only for a source whose articles are the feed's own text (None otherwise): the content
    # hash of that text, its language (the item's, the source's or a guess) and its rule
    # matches (None also when matching failed: the poller matches it again).
    feed_hash: str | None = None
    feed_language: str | None = None
    matches: list[RuleMatch] | None = None


@dataclass(frozen=True, slots=True)
class PreparedFeed:
    """A parsed feed with the :class:`Prepared` work done for each of its items."""

    feed: ParsedFeed
    prepared: tuple[Prepared, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        return constructor_call(self)


def prepare(it: FeedItem, match_as: tuple[str, str | None] | None) -> Prepared:
    canon = canonical_url(it.url) if it.url else None
    if match_as is None:  # the article will be its page: nothing more to do with the feed text
        return Prepared(canon)
    name, source_language = match_as
    text = it.content or it.summary or it.title
    lang = it.language or source_language or guess_language(text)
    matches = None
    if _WORKER_RULES is not None:
        # the Document Poller._build makes from the feed text, matched right here: the item
        # needs no second round trip to the pool (items already stored just waste ~40 us)
        try:
            matches = list(_WORKER_RULES.match(Document(text, it.title, it.url or "", name, lang)))
        except Exception:  # a matcher bug must not fail the feed: matched again in the poller
            matches = None
    return Prepared(canon, content_hash(it.title, text), lang, matches)


def parse_job(
    kind: str,
    body: bytes,
    headers: dict[str, str],
    url: str,
    match_as: tuple[str, str | None] | None = None,
) -> Any:
    """Parse a source document. ``match_as``: (source name, source language) of a feed-only
    source, whose items are matched here too (see :func:`prepare`)."""
    if kind == "feed":
        feed = parse_feed(body, headers, url)
        items = feed.items[:MAX_ITEMS_PER_SOURCE]
        return PreparedFeed(feed, tuple(prepare(it, match_as) for it in items))
    from watcher import discovery

    if kind == "page":
        return discovery.page_links(body, url)
    return discovery.parse_sitemap(body, url)


def extract_many_job(pages: list[tuple[bytes, str, str | None]]) -> list[ExtractedArticle | str]:
    """Extract several pages in one round trip; a failure is its message."""
    out: list[ExtractedArticle | str] = []
    for body, url, content_type in pages:
        try:
            out.append(extract_article(body, url, content_type=content_type))
        except ExtractionError as exc:
            out.append(str(exc))
        except Exception as exc:  # lxml/trafilatura surprises stay per page
            out.append(f"{url}: extraction failed: {type(exc).__name__}: {exc}")
    return out


_WORKER_RULES: RuleMatcher | None = None


def _mappingproxy(data: dict[Any, Any]) -> types.MappingProxyType[Any, Any]:
    return types.MappingProxyType(data)


# Rulesets keep read-only views (mappingproxy), which pickle cannot ship by default.
copyreg.pickle(types.MappingProxyType, lambda m: (_mappingproxy, (dict(m),)))

# Matches go back to the main process as constructor calls too (see constructor_call).
copyreg.pickle(RuleMatch, constructor_call)
copyreg.pickle(Evidence, constructor_call)


def init_worker(rules_blob: bytes | None, pages: bool = True) -> None:
    global _WORKER_RULES
    # Ctrl-C in a terminal reaches the whole process group: the main process stops the pool
    # itself (after letting in-flight work finish), so a worker neither dies of it mid-job nor
    # prints a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if pages:  # import once per worker, before the first job (a feed-only poll needs none)
        import trafilatura  # noqa: F401

    if rules_blob is not None:
        _WORKER_RULES = pickle.loads(rules_blob)
        compiled = getattr(_WORKER_RULES, "compiled", None)
        if callable(compiled):  # a LazyRuleSet: compile now, before the first job waits for it
            compiled()


def match_job(docs: list[Document]) -> list[Sequence[RuleMatch]]:
    assert _WORKER_RULES is not None
    return [list(_WORKER_RULES.match(d)) for d in docs]


def noop() -> None:
    return None
