"""Updated articles against a real local server and SQLite: the page is revalidated with its
validators when the feed announces a newer <updated>, a 304 costs no extraction, a changed page
becomes a new revision that alerts only the rules it newly matches, and the politeness bounds
hold (gap between checks, revisits per poll)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.models import PageState
from tests.fetch.conftest import KeywordRules, make_config
from tests.support.servers import LocalHTTPServer, Route
from watcher.alerts.payload import alert_json, build_content
from watcher.pipeline import PAGE_RETRY_ATTEMPTS, Poller
from watcher.poll_types import Candidate
from watcher.revisions import (
    MAX_REVISITS_PER_POLL,
    MIN_REVISIT_GAP,
    PAGE_REVISIT_WINDOW,
    due_by_age,
    due_revisits,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ATOM = "application/atom+xml; charset=utf-8"
PAGE = "/news/2026/11/orbital-build-out"
FILLER = (
    "The company described the project in a filing with regulators this week, saying that "
    "construction would start in the spring and that the first halls would open next year. "
)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def atom(link: str, updated: datetime, summary: str = "Orbital Labs expands.") -> bytes:
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Wire</title><id>urn:wire</id><updated>2026-11-28T00:00:00Z</updated>"
        f"<entry><title>Orbital Labs build-out</title><id>urn:wire:1</id>"
        f'<link href="{link}"/><published>2026-11-28T10:00:00Z</published>'
        f"<updated>{stamp}</updated><summary>{summary}</summary></entry></feed>"
    ).encode()


def page(*extra: str) -> bytes:
    paras = [
        "Orbital Labs will build a data center campus outside Lisbon, its largest so far.",
        *extra,
        FILLER * 2,
        FILLER,
    ]
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        "<html><head><meta charset='utf-8'><title>Orbital Labs build-out</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/tech'>Tech</a></nav>"
        f"<article><h1>Orbital Labs build-out</h1>{body}</article>"
        "<footer>Copyright Wire</footer></body></html>"
    ).encode()


def alerts(store: Any) -> list[Any]:
    return sorted(store.list_alerts(), key=lambda a: a.revision)


def serve_story(server: LocalHTTPServer, tmp_path: Path, *, feed_etag: bool) -> tuple[str, Any]:
    """One article page (strong ETag: 304 to a matching If-None-Match) and an Atom feed
    listing it (``feed_etag=False``: 200 every time); returns the page URL and a config."""
    url = server.url(PAGE)
    server.routes[PAGE] = Route(page())
    server.routes["/feed"] = Route(atom(url, at(-60)), content_type=ATOM, etag=feed_etag)
    return url, make_config(tmp_path, [{"name": "wire", "url": server.url("/feed")}])


async def test_updated_entry_revalidates_the_page(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    url, cfg = serve_story(http_server, tmp_path, feed_etag=False)
    async with Poller(cfg, store, rules, workers=0) as poller:
        first = await poller.poll(at(0))
        assert first.new_articles == 1
        [alert] = alerts(store)
        assert alert.rules == ("datacenter",)
        (aid,) = {a.article_id for a in alerts(store)}

        # the same <updated>: the stored article is not fetched again
        await poller.poll(at(20))
        assert len(http_server.hits(PAGE)) == 1

        # a newer <updated>, same page: a conditional GET answered 304, nothing extracted
        http_server.routes["/feed"] = Route(atom(url, at(30)), content_type=ATOM, etag=False)
        third = await poller.poll(at(40))
        hit = http_server.hits(PAGE)[-1]
        assert hit.headers.get("if-none-match") and hit.status == 304
        assert third.sources[0].revised_articles == 0
        state = store.page_states([aid])[aid]
        assert state.item_updated == at(30) and state.checked_at == at(40)
        assert state.revision == 0

        # the page changed and now names DeepSeek: a new revision, one alert for that rule only
        http_server.routes[PAGE] = Route(page("It will also host models from 深度求索 (DeepSeek)."))
        http_server.routes["/feed"] = Route(atom(url, at(50)), content_type=ATOM, etag=False)
        fourth = await poller.poll(at(60))
        assert fourth.sources[0].revised_articles == 1 and fourth.new_articles == 0
        assert fourth.sources[0].alerts_created == 1
        assert [(a.revision, a.rules) for a in alerts(store)] == [
            (0, ("datacenter",)),
            (1, ("deepseek",)),
        ]
        art = store.get_article(aid)
        assert "深度求索" in art.text and art.revision == 1 and art.revised_at == at(60)
        assert [a.id for a in store.search("深度求索")] == [aid]
        update = build_content(alerts(store)[1], art, store.article_matches(aid))
        assert update.title.startswith("(updated) ") and update.rule_ids == ("deepseek",)
        assert alert_json(update)["article"]["revision"] == 1

        # a new paragraph that matches nothing new: a revision, no alert
        deepseek = "It will also host models from 深度求索 (DeepSeek)."
        solar = "A solar farm being built next to the site will supply part of its power."
        http_server.routes[PAGE] = Route(page(deepseek, solar))
        http_server.routes["/feed"] = Route(atom(url, at(70)), content_type=ATOM, etag=False)
        fifth = await poller.poll(at(80))
        assert fifth.sources[0].revised_articles == 1 and fifth.sources[0].alerts_created == 0
        assert len(alerts(store)) == 2 and store.get_article(aid).revision == 2

        # only a counter changed ("updated 3 times"): checked, not a revision
        http_server.routes[PAGE] = Route(page(deepseek, solar, "This story was updated 3 times."))
        http_server.routes["/feed"] = Route(atom(url, at(90)), content_type=ATOM, etag=False)
        await poller.poll(at(100))
        http_server.routes[PAGE] = Route(page(deepseek, solar, "This story was updated 4 times."))
        http_server.routes["/feed"] = Route(atom(url, at(110)), content_type=ATOM, etag=False)
        seventh = await poller.poll(at(120))
        assert seventh.sources[0].revised_articles == 0
        assert store.get_article(aid).revision == 3  # the first added a sentence; not the second
        assert store.page_states([aid])[aid].item_updated == at(110)


async def test_feed_only_revision_uses_the_new_feed_text(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    url = http_server.url(PAGE)
    http_server.routes["/feed"] = Route(
        atom(url, at(-60), "Orbital Labs plans a data center."), content_type=ATOM, etag=False
    )
    cfg = make_config(
        tmp_path, [{"name": "wire", "url": http_server.url("/feed"), "fulltext": False}]
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(at(0))
        http_server.routes["/feed"] = Route(
            atom(url, at(5), "Orbital Labs plans a data center with ميتا as its tenant."),
            content_type=ATOM,
            etag=False,
        )
        report = await poller.poll(at(20))
    assert report.sources[0].revised_articles == 1
    assert [(a.revision, a.rules) for a in alerts(store)] == [(0, ("datacenter",)), (1, ("meta",))]
    assert http_server.hits(PAGE) == []  # feed-only: pages are never fetched
    (art,) = store.articles_between(at(-1), at(1))
    assert "ميتا" in art.text and art.extraction == "feed"


async def test_temporary_failure_of_a_revisit_is_retried_next_poll(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    url, cfg = serve_story(http_server, tmp_path, feed_etag=True)
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(at(0))
        http_server.routes["/feed"] = Route(atom(url, at(10)), content_type=ATOM)
        http_server.routes[PAGE] = [
            Route(b"busy", status=503),
            Route(page("深度求索 joins as a tenant.")),
        ]
        second = await poller.poll(at(20))
        assert any("revision not checked" in n and "503" in n for n in second.sources[0].notes)
        assert store.get_source("wire").etag is None  # the next poll must list the item again
        third = await poller.poll(at(21))  # sooner than MIN_REVISIT_GAP: a failure is no check
    assert third.sources[0].status == "ok" and third.sources[0].revised_articles == 1
    assert {a.rules for a in alerts(store)} == {("datacenter",), ("deepseek",)}


def _state(aid: int, **kw: Any) -> PageState:
    return PageState(aid, f"https://x.example/{aid}", at(0), **kw)


def test_due_revisits_bounds() -> None:
    items = [(Candidate(f"https://x.example/{i}", updated=at(10 + i)), i) for i in range(15)]
    states = {i: _state(i) for i in range(15)}
    due = due_revisits(items, states, at(60), uses_page=True)
    assert len(due) == MAX_REVISITS_PER_POLL
    assert [r.state.article_id for r in due] == list(range(14, 4, -1))  # newest first
    # checked a moment ago: not again before the gap
    recent = {0: _state(0, checked_at=at(60) - MIN_REVISIT_GAP / 2)}
    assert due_revisits(items[:1], recent, at(60), uses_page=True) == []
    # not newer than what is stored, or than first seen when nothing was stored
    assert (
        due_revisits(items[:1], {0: _state(0, item_updated=at(10))}, at(60), uses_page=True) == []
    )
    assert due_revisits([(Candidate("u", updated=at(-5)), 0)], states, at(60), uses_page=True) == []
    # a feed-only source never replaces a full text with its feed text
    full = {0: _state(0, extraction="fulltext")}
    assert due_revisits(items[:1], full, at(60), uses_page=False) == []
    feed = {0: _state(0, extraction="feed")}
    assert len(due_revisits(items[:1], feed, at(60), uses_page=False)) == 1


# -- review 3 regressions ------------------------------------------------------------------


async def test_revisit_failing_for_good_is_given_up_and_the_feed_304s_again(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    url, cfg = serve_story(http_server, tmp_path, feed_etag=True)
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(at(0))
        http_server.routes["/feed"] = Route(atom(url, at(10)), content_type=ATOM)
        http_server.routes[PAGE] = Route(b"busy", status=503)
        for i in range(8):
            await poller.poll(at(20 + 15 * i))
    revisits = len(http_server.hits(PAGE)) - 1
    assert revisits == PAGE_RETRY_ATTEMPTS  # like a new article's page, then given up
    statuses = [r.status for r in http_server.hits("/feed")]
    assert statuses[-3:] == [304, 304, 304] and store.get_source("wire").etag
    assert store.note_page_failures([("probe", "x")], at(0)) == [(1, at(0))]  # rows cleared


async def test_a_page_now_redirecting_elsewhere_is_not_a_revision(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    url, cfg = serve_story(http_server, tmp_path, feed_etag=False)
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(at(0))
        (aid,) = {a.article_id for a in alerts(store)}
        http_server.routes[PAGE] = Route(b"", status=301, headers={"Location": "/"})
        http_server.routes["/"] = Route(page("Top stories: 深度求索 (DeepSeek) ships a model."))
        http_server.routes["/feed"] = Route(atom(url, at(30)), content_type=ATOM, etag=False)
        report = await poller.poll(at(40))
    assert report.sources[0].revised_articles == 0 and len(alerts(store)) == 1
    assert any("now leads to" in n for n in report.sources[0].notes)
    assert "深度求索" not in store.get_article(aid).text


async def test_a_feed_stamping_every_item_alike_announces_nothing(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    def feed(stamp: datetime) -> bytes:
        one = atom(http_server.url("/a/1"), stamp).replace(b"</feed>", b"")
        two = atom(http_server.url("/a/2"), stamp).replace(b"urn:wire:1", b"urn:wire:2")
        return one + b"<entry>" + two.split(b"<entry>", 1)[1]

    for i, path in enumerate(("/a/1", "/a/2")):
        http_server.routes[path] = Route(page(f"Story number {i} with its own words."))
    cfg = make_config(tmp_path, [{"name": "wire", "url": http_server.url("/feed")}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        for i in range(4):  # the generator stamps every entry with its own clock
            http_server.routes["/feed"] = Route(feed(at(15 * i)), content_type=ATOM, etag=False)
            await poller.poll(at(15 * i + 1))
    assert len(http_server.hits("/a/1")) == 1 and len(http_server.hits("/a/2")) == 1


def test_a_matcher_error_in_the_parse_job_leaves_the_item_to_the_poller() -> None:
    import watcher.jobs as jobs
    from watcher.feeds import FeedItem

    class Broken:
        def match(self, document: Any) -> list[Any]:
            raise RuntimeError("matcher bug")

    saved, jobs._WORKER_RULES = jobs._WORKER_RULES, Broken()  # type: ignore[assignment]
    try:
        item = FeedItem("g", "https://x.example/a", "T", "summary text", "", None)
        canon, _, _, matches = jobs.prepare(item, ("wire", None))
    finally:
        jobs._WORKER_RULES = saved
    assert canon == "https://x.example/a" and matches is None  # matched later, in the poller


def test_poll_summary_counts_updated_articles() -> None:
    from watcher.cycle import CycleResult
    from watcher.poll_types import PollReport, SourceReport

    report = PollReport([SourceReport("wire", "ok", items=3, revised_articles=1)])
    line = CycleResult(report, "nothing due").summary().splitlines()[0]
    assert line == "wire: ok, 3 item(s), 0 new, 1 updated, 0 matched, 0 alert(s)"


async def test_a_failing_revisit_does_not_cost_the_new_items(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    class BrokenRevisions:  # a real store whose revision bookkeeping fails
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def page_states(self, ids: Any) -> Any:
            raise RuntimeError("bookkeeping bug")

    url, cfg = serve_story(http_server, tmp_path, feed_etag=False)
    http_server.routes["/b"] = Route(page("A second story about 深度求索 and its new model."))
    async with Poller(cfg, BrokenRevisions(store), rules, workers=0) as poller:
        await poller.poll(at(0))
        both = atom(url, at(30)).replace(b"</feed>", b"") + (
            b"<entry><title>Second</title><id>urn:wire:2</id>"
            + f'<link href="{http_server.url("/b")}"/>'.encode()
            + b"<updated>2026-11-28T12:35:00Z</updated></entry></feed>"
        )
        http_server.routes["/feed"] = Route(both, content_type=ATOM, etag=False)
        report = await poller.poll(at(40))
    (r,) = report.sources
    assert r.status == "ok" and r.new_articles == 1
    assert any("updated articles not checked" in n for n in r.notes), r.notes


# -- listing pages: revalidated by age -------------------------------------------------------


def test_due_by_age_schedule() -> None:
    hour = timedelta(hours=1)
    # first seen at(0): due once an hour old, then after a third of its age since each check
    assert due_by_age([_state(1)], at(59)) == []
    assert [s.article_id for s in due_by_age([_state(1)], at(60))] == [1]
    checked = _state(1, checked_at=at(60))
    assert due_by_age([checked], at(60) + hour / 2) == []  # the 1 h floor
    assert len(due_by_age([checked], at(120))) == 1
    late = _state(1, checked_at=at(0) + 9 * hour)
    assert due_by_age([late], at(0) + 11 * hour) == []  # 2 h < 11 h / 3
    assert len(due_by_age([late], at(0) + 14 * hour)) == 1  # 5 h >= 14 h / 3
    # too old, or a feed's own text: never; a page that failed at first (the link text was
    # stored): yes, its page may work now
    assert due_by_age([_state(1)], at(0) + PAGE_REVISIT_WINDOW + hour) == []
    assert due_by_age([_state(1, extraction="feed")], at(120)) == []
    assert len(due_by_age([_state(1, extraction="feed-fallback")], at(120))) == 1
    # the longest unchecked first, at most MAX_REVISITS_PER_POLL
    many = [_state(i, checked_at=at(60 + i)) for i in range(15)]
    due = due_by_age(many, at(0) + 5 * hour)
    assert [s.article_id for s in due] == list(range(MAX_REVISITS_PER_POLL))


def serve_listing(
    server: LocalHTTPServer, tmp_path: Path, story: Route, link_text: str = "Orbital"
) -> tuple[str, Any]:
    """A listing page (page source "listing") linking one article, served as ``story``;
    returns the article's path and the config."""
    path = "/2026/11/28/orbital-build-out"
    server.routes[path] = story
    server.routes["/news/"] = Route(
        f'<html><body><a href="/">Home</a><a href="{path}">{link_text}</a></body></html>'.encode()
    )
    return path, make_config(
        tmp_path, [{"name": "listing", "url": server.url("/news/"), "kind": "page"}]
    )


async def test_a_listing_source_revalidates_its_young_articles_by_age(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    path, cfg = serve_listing(http_server, tmp_path, Route(page()))
    deepseek = "It will also host models from 深度求索 (DeepSeek)."
    async with Poller(cfg, store, rules, workers=0) as poller:
        first = await poller.poll(at(0))
        assert first.new_articles == 1 and len(http_server.hits(path)) == 1
        [aid] = store.recent_articles("listing", at(-1))

        # the story changes; the listing does not (304)
        http_server.routes[path] = Route(page(deepseek))
        await poller.poll(at(30))  # too young to check again
        assert len(http_server.hits(path)) == 1 and len(http_server.hits("/news/")) == 2
        second = await poller.poll(at(70))
        assert http_server.hits("/news/")[-1].status == 304
        hit = http_server.hits(path)[-1]
        assert hit.headers.get("if-none-match") and hit.status == 200
        assert second.sources[0].status == "not_modified"
        assert second.sources[0].revised_articles == 1 and second.sources[0].alerts_created == 1
        art = store.get_article(aid)
        assert "深度求索" in art.text and art.revision == 1
        assert [(a.revision, a.rules) for a in alerts(store)][-1] == (1, ("deepseek",))

        await poller.poll(at(100))  # 30 min after the check: not yet
        assert len(http_server.hits(path)) == 2
        third = await poller.poll(at(140))  # unchanged since: a 304, checked
        assert http_server.hits(path)[-1].status == 304
        assert third.sources[0].revised_articles == 0
        assert store.page_states([aid])[aid].checked_at == at(140)

        # two days on, the article is no longer revalidated
        await poller.poll(at(0) + PAGE_REVISIT_WINDOW + timedelta(hours=1))
        assert len(http_server.hits(path)) == 3 and len(http_server.hits("/news/")) == 6


async def test_an_unchanged_page_is_not_a_revision_of_the_listings_title(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any
) -> None:
    """The listing's link text is the stored title; the page's own <title> differs. A page
    that answers 200 without validators but says nothing new is only checked (review 7: it
    became a revision, dropping the matches of the link text)."""
    rules = KeywordRules({"deepseek": "深度求索", "buildout": "build-out"})
    path, cfg = serve_listing(
        http_server, tmp_path, Route(page(), etag=False), "深度求索 tie-up: Orbital expands"
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(at(0))
        [aid] = store.recent_articles("listing", at(-1))
        before = store.get_article(aid)
        assert before.title == "深度求索 tie-up: Orbital expands"
        matched = sorted(m.rule for m in store.article_matches(aid))
        report = await poller.poll(at(70))
        assert len(http_server.hits(path)) == 2  # revalidated: a 200, nothing new
        after = store.get_article(aid)
        assert (after.title, after.revision) == (before.title, 0)
        assert report.sources[0].revised_articles == 0
        assert sorted(m.rule for m in store.article_matches(aid)) == matched
        assert store.page_states([aid])[aid].checked_at == at(70)


async def test_a_failing_page_waits_for_its_next_check_by_age(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    """A revisit by age that fails (503, 410) counts as a check: the page comes back on the
    age schedule, not on every poll (review 7: 15 GETs of a 503 page in 12 h at 10-minute
    polls)."""
    path, cfg = serve_listing(http_server, tmp_path, Route(page()))
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(at(0))
        http_server.routes[path] = Route(b"busy", status=503)
        notes: list[str] = []
        for minute in range(60, 12 * 60 + 1, 10):
            report = await poller.poll(at(minute))
            assert report.sources[0].status == "not_modified"
            notes += report.sources[0].notes
        # checks at 1 h, 2 h, 3 h, 4.5 h, 6.75 h, ~10.1 h: six in 12 h, as for a healthy page
        assert len(http_server.hits(path)) - 1 == 6
        assert len(notes) == 6 and all("503" in n for n in notes)
        http_server.routes[path] = Route(b"gone", status=410)
        for minute in range(12 * 60 + 10, 48 * 60, 30):
            await poller.poll(at(minute))
        assert len(http_server.hits(path)) - 1 <= 6 + 4  # ~15 h, ~23 h, ~34 h (then too old)


async def test_a_listing_article_stored_from_its_link_text_gets_its_page_later(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    path, cfg = serve_listing(
        http_server, tmp_path, Route(b"not yet", status=404), "Orbital Labs build-out"
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(at(0))
        [aid] = store.recent_articles("listing", at(-1))
        assert store.get_article(aid).extraction == "feed-fallback"
        http_server.routes[path] = Route(page())  # the page is up now
        report = await poller.poll(at(70))
        art = store.get_article(aid)
        assert report.sources[0].revised_articles == 1
        assert art.extraction == "fulltext" and "Lisbon" in art.text
        assert art.title == "Orbital Labs build-out" and art.revision == 1
