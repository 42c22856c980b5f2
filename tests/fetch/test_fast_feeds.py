"""The lxml fast path for plain RSS 2.0 must give exactly what feedparser gives: on every feed
of the shared corpus it accepts (skipped when absent), on our fixtures, and on generated feeds."""

from __future__ import annotations

import pickle
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.models import Evidence, RuleMatch
from storage.urls import _normalise_text
from tests.fetch.test_corpus import feed_files, header_lines
from watcher.extract import _ENGLISH, _english_ascii
from watcher.fast_atom import fast_atom
from watcher.fast_rss import fast_rss as _fast_rss
from watcher.fast_xml import UNSAFE, _contains_any
from watcher.feeds import _WS, _parse_xml_feed, _squash, parse_feed
from watcher.jobs import Prepared, PreparedFeed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
BASE = "https://news.example.org/feed.xml"


def _same(body: bytes, headers: dict[str, str], url: str = BASE) -> bool:
    """Assert the fast path agrees with feedparser; False when it declined the feed."""
    fast = _fast_rss(body, headers, url) or fast_atom(body, headers, url)
    if fast is None:
        return False
    assert fast == _parse_xml_feed(body, headers, url)
    return True


def _left_to_feedparser(body: bytes, headers: dict[str, str] | None = None) -> None:
    """Assert both fast paths decline ``body`` and that feedparser reads it."""
    headers = headers or {}
    assert _fast_rss(body, headers, BASE) is None and fast_atom(body, headers, BASE) is None
    parse_feed(body, headers, BASE)


def _rss(items: str, channel_extra: str = "", prolog: bool = True) -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?>\n' if prolog else ""
    return (
        f'{head}<rss version="2.0"><channel><title>Ledger &amp; Co</title>'
        f"<link>/home</link><description>d</description>{channel_extra}{items}</channel></rss>"
    ).encode()


PLAIN_ITEMS = (
    "<item><title>Orbital lab ships a 40B model</title><link>/a/1?utm_source=x</link>"
    "<guid>/a/1</guid><pubDate>Tue, 03 Nov 2026 09:15:00 +0130</pubDate>"
    "<description>&lt;p&gt;First &lt;b&gt;para&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Second&lt;/p&gt;"
    "</description></item>"
    '<item><guid isPermaLink="false">urn:ledger:2</guid><link>https://x.example/2</link>'
    "<title>Capex &lt;3 &amp; more</title><pubDate>3 Nov 2026 07:00:00 GMT</pubDate></item>"
    "<item><link>https://x.example/3</link><title>Caf\u00e9 \u201cquotes\u201d \u4e2d\u6587</title>"
    "<description>   spaced\n\n  text   </description></item>"
)


NS_FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"'
    b' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    b' xmlns:content="http://purl.org/rss/1.0/modules/content/">\n<channel>'
    b'<atom:link href="https://news.example.org/feed.xml" rel="self" type="application/rss+xml"/>'
    b"<title>Quarry Wire</title><link>https://news.example.org/</link><language>de</language>"
    b"<item><title>Chip fab plans</title><link>https://news.example.org/p/7</link>"
    b"<dc:creator> Mira Stone </dc:creator><category>fabs</category><category>capex</category>"
    b"<description>Short teaser</description>"
    b"<content:encoded><![CDATA[<p>Long <em>body</em> of the story.</p><p>More.</p>]]>"
    b"</content:encoded><pubDate>Mon, 02 Nov 2026 18:00:00 GMT</pubDate></item>"
    b"<item><title>Same text</title><link>https://news.example.org/p/8</link>"
    b"<description>Identical</description><content:encoded>Identical</content:encoded></item>"
    b"</channel></rss>"
)


def test_fast_path_handles_common_namespaces_like_feedparser() -> None:
    assert _same(NS_FEED, {})
    item = parse_feed(NS_FEED, {}, BASE).items[0]
    assert (item.author, item.language) == ("Mira Stone", "de")
    assert item.content.startswith("Long body") and item.summary == "Short teaser"
    other = NS_FEED.replace(b"purl.org/dc/elements/1.1/", b"example.org/not-dc/")
    assert _fast_rss(other, {}, BASE) is None  # a known prefix bound to another namespace


def test_fast_path_matches_feedparser_on_invented_feeds() -> None:
    assert _same(_rss(PLAIN_ITEMS), {})
    assert _same(_rss(PLAIN_ITEMS, "<language>en-GB</language><ttl>45</ttl>", prolog=False), {})
    assert _same(_rss(PLAIN_ITEMS), {"Content-Type": "application/rss+xml; charset=UTF-8"})
    assert _same(_rss(PLAIN_ITEMS), {"Content-Language": "fr"})
    cdata = (
        "<item><link>https://x.example/1</link><title><![CDATA[<b>x</b> &amp; y]]></title></item>"
    )
    assert _same(_rss(cdata), {})
    feed = parse_feed(_rss(PLAIN_ITEMS), {}, BASE)
    assert feed.items[0].guid == "https://news.example.org/a/1"
    assert feed.items[0].published == datetime(2026, 11, 3, 7, 45, tzinfo=UTC)
    assert feed.items[1].guid == "urn:ledger:2"


@pytest.mark.parametrize(
    "body",
    [
        _rss(PLAIN_ITEMS, "<atom:link xmlns:atom='http://www.w3.org/2005/Atom' href='x'/>"),
        _rss("<item><title>no link</title><guid>https://x.example/9</guid></item>"),
        _rss("<item><link>https://x.example/1</link><pubDate>yesterday</pubDate></item>"),
        _rss(
            "<item><link>https://x.example/1</link><author>a@b.c (A)</author>"
            "<dc:creator xmlns:dc='http://purl.org/dc/elements/1.1/'>B</dc:creator></item>"
        ),
        _rss(
            "<item><link>https://x.example/1</link><title>\u00c3\u00a9t\u00c3\u00a9</title></item>"
        ),
        _rss(PLAIN_ITEMS).replace(b"utf-8", b"iso-8859-1"),
        _rss(PLAIN_ITEMS)[:-20],
    ],
    ids=["namespace", "no-link", "odd-date", "two-authors", "mojibake", "latin1", "broken"],
)
def test_fast_path_declines_surprises(body: bytes) -> None:
    assert _fast_rss(body, {}, BASE) is None


MEDIA = "http://search.yahoo.com/mrss/"
REAL_WORLD = (
    "\ufeff<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    f"<rss xmlns:media='{MEDIA}' xmlns:atom='http://www.w3.org/2005/Atom'"
    " xmlns:sy='http://purl.org/rss/1.0/modules/syndication/'"
    " xmlns:slash='http://purl.org/rss/1.0/modules/slash/'"
    " xmlns:wfw='http://wellformedweb.org/CommentAPI/' version='2.0'>"
    "<channel><title>Wire</title><link>https://wire.example/</link>"
    "<atom:link href='https://hub.example/' rel='hub'/>"
    "<image><url>https://wire.example/logo.png</url><title>Logo title</title>"
    "<link>https://wire.example/about</link></image>"
    "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>"
    "<managingEditor>ed@wire.example (Ed)</managingEditor>"
    "<item><title>Chips</title><link>https://wire.example/1</link>"
    "<author>desk@wire.example (Desk)</author>"
    "<category domain='https://wire.example/tags'>chips</category>"
    "<pubDate>Tue, 03 Nov 2026 09:15:00 EST</pubDate><description>Teaser</description>"
    "<enclosure url='https://wire.example/1.jpg' length='1' type='image/jpeg'/>"
    f"<media:group><media:content url='https://wire.example/1.mp4'/>"
    "<media:thumbnail url='https://wire.example/1t.jpg'/></media:group>"
    "<media:credit role='photographer'>Someone</media:credit>"
    "<slash:comments>4</slash:comments><wfw:commentRss>https://wire.example/1/c</wfw:commentRss>"
    "</item></channel></rss>"
).encode()


def test_fast_path_reads_real_world_extras_like_feedparser() -> None:
    """Media RSS attachments, enclosures, comment counts, the feed image, a WebSub hub, a BOM,
    a standalone prolog, attributes in any order, RSS <author> and US zone names."""
    assert _same(REAL_WORLD, {})
    feed = parse_feed(REAL_WORLD, {}, BASE)
    assert (feed.title, feed.link, feed.ttl) == ("Wire", "https://wire.example/", 1800.0)
    item = feed.items[0]
    assert (item.title, item.summary, item.author) == (
        "Chips",
        "Teaser",
        "desk@wire.example (Desk)",
    )
    assert item.published == datetime(2026, 11, 3, 14, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "extra",
    [
        "<media:content url='https://x/1.mp4'><media:title>Other</media:title></media:content>",
        "<media:description>Another text</media:description>",
        "<media:title>Another title</media:title>",
        "<dc:date xmlns:dc='http://purl.org/dc/elements/1.1/'>2026-11-03</dc:date>",
    ],
    ids=["media-title-inside", "media-description", "media-title", "dc-date"],
)
def test_fast_path_declines_extras_that_feedparser_reads_as_the_item(extra: str) -> None:
    _left_to_feedparser(REAL_WORLD.replace(b"</item>", extra.encode() + b"</item>"))


def test_fast_path_declines_a_default_namespace_on_rss() -> None:
    body = _rss(PLAIN_ITEMS).replace(b'<rss version="2.0">', b'<rss version="2.0" xmlns="urn:x">')
    _left_to_feedparser(body)


ATOM = (
    b"<?xml version='1.0' encoding='utf-8'?>"
    b"<feed xmlns='http://www.w3.org/2005/Atom' xmlns:media='http://search.yahoo.com/mrss/'>"
    b"<id>tag:lab.example,2026:feed</id><title type='html'>Lab &amp;amp; notes</title>"
    b"<updated>2026-11-03T09:15:00Z</updated><generator uri='https://jekyllrb.com/'>J</generator>"
    b"<link href='/feed.xml' rel='self' type='application/atom+xml'/>"
    b"<author><name>Lab</name></author>"
    b"<entry><title type='html'>Orbital &lt;b&gt;chips&lt;/b&gt;</title>"
    b"<link href='/p/1' rel='alternate' type='text/html' title='Orbital'/>"
    b"<link href='https://lab.example/p/1.mp3' rel='enclosure' length='1'/>"
    b"<id>https://lab.example/p/1</id><published>2026-11-03T09:15:00.123+01:30</published>"
    b"<updated>2026-11-04T10:00:00Z</updated>"
    b"<author><name>Mira Stone</name><email>mira@lab.example</email></author>"
    b"<category term='chips'/><media:thumbnail url='https://lab.example/t.jpg'/>"
    b"<content type='html' xml:base='https://lab.example/p/1'>&lt;p&gt;Body &lt;a href='x'&gt;"
    b"link&lt;/a&gt;&lt;/p&gt;</content></entry>"
    b"<entry><title>Plain &lt;3 title</title><link href='https://lab.example/p/2'/>"
    b"<id>urn:lab:2</id><updated>2026-11-02</updated><author><name></name></author>"
    b"<summary>Short</summary></entry>"
    b"</feed>"
)


def test_fast_atom_reads_plain_atom_like_feedparser() -> None:
    assert _same(ATOM, {})
    feed = parse_feed(ATOM, {}, BASE)
    # no alternate link: feedparser takes the feed id as its link, and so does the fast path
    assert (feed.title, feed.link) == ("Lab & notes", "tag:lab.example,2026:feed")
    first, second = feed.items
    assert (first.url, first.guid, first.title) == (
        "https://news.example.org/p/1",
        "https://lab.example/p/1",
        "Orbital chips",
    )
    assert first.author == "Mira Stone (mira@lab.example)" and first.content == "Body link"
    assert first.summary == "Body link"  # feedparser's summary is the content when none is given
    assert first.published == datetime(2026, 11, 3, 7, 45, tzinfo=UTC)
    assert first.updated == datetime(2026, 11, 4, 10, 0, tzinfo=UTC)
    assert (second.author, second.published) == (None, datetime(2026, 11, 2, tzinfo=UTC))
    no_link = ATOM.replace(b"<link href='/feed.xml' rel='self' type='application/atom+xml'/>", b"")
    assert _same(no_link, {})


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<content type='html'", b"<content type='xhtml'"),
        (b"<content type='html' xml:base", b"<content src='https://x/1' type='html' xml:base"),
        (b"<entry><title type", b"<entry xml:base='https://other.example/'><title type"),
        (b"<id>urn:lab:2</id>", b"<id>urn:lab:2</id><link href='https://lab.example/p/3'/>"),
        (b"<category term='chips'/>", b"<media:title>Other</media:title>"),
        (b"<id>urn:lab:2</id>", b"<id>urn:lab:2</id><contributor><name>C</name></contributor>"),
        (b"<updated>2026-11-02</updated>", b"<updated>2 Nov 2026</updated>"),
        (b"<feed xmlns=", b"<feed xml:lang='fr' xmlns="),
    ],
    ids=["xhtml", "src", "entry-base", "two-links", "media-title", "contributor", "date", "lang"],
)
def test_fast_atom_declines_what_feedparser_may_read_otherwise(old: bytes, new: bytes) -> None:
    body = ATOM.replace(old, new, 1)
    assert body != ATOM
    _left_to_feedparser(body)


def test_fast_path_on_repository_fixtures() -> None:
    taken = [_same(p.read_bytes(), {}) for p in sorted(FIXTURES.iterdir()) if p.is_file()]
    assert any(taken)  # review2 #11: at least one fixture goes through the fast path


def test_fast_path_matches_feedparser_on_the_corpus(shared_corpus: Path) -> None:
    accepted = 0
    for path in feed_files(shared_corpus):
        body = path.read_bytes()
        headers = header_lines(body)
        for url in (BASE, f"https://corpus.example/{path.name}"):
            if _same(body, headers, url):
                accepted += 1
    assert accepted > 0  # the path is exercised, not merely declined


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r"),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            _text,
            _text,
            st.sampled_from(["", "/p/", "https://y.example/q?a=1&b=2", "p/rel"]),
            st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
                lambda d: d.replace(microsecond=0)
            ),
            st.integers(-12 * 60, 14 * 60),
            st.booleans(),
        ),
        max_size=6,
    )
)
def test_fast_path_matches_feedparser_on_generated_feeds(
    rows: list[tuple[str, str, str, datetime, int, bool]],
) -> None:
    items = []
    for n, (title, desc, link, when, offset, permalink) in enumerate(rows):
        sign = "+" if offset >= 0 else "-"
        zone = f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
        local = when + timedelta(minutes=offset)
        stamp = local.strftime("%a, %d %b %Y %H:%M:%S ") + zone
        guid = f"<guid>g/{n}</guid>" if permalink else f'<guid isPermaLink="false">g{n}</guid>'
        items.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}{n}</link>{guid}"
            f"<pubDate>{stamp}</pubDate><description>{escape(desc)}</description></item>"
        )
    accepted = _same(_rss("".join(items)), {})
    if all((t + d).isascii() for t, d, *_ in rows):
        assert accepted  # plain text is the fast path's business, not feedparser's


_URL_CHARS = st.sampled_from(list("aZ09-._~/:@!$&'()*+,;=%?#[] \t\u00e9"))


@given(
    base=st.sampled_from(
        [BASE, "http://news.example.org/", "https://other.example/a/b?x=1", "ftp://x.example/"]
    ),
    scheme=st.sampled_from(["http://", "https://", "HTTP://", "", "//", "/"]),
    host=st.sampled_from(["news.example.org", "EXAMPLE.org:8080", "a.b", ""]),
    rest=st.text(_URL_CHARS, max_size=30),
)
@settings(max_examples=400, deadline=None)
def test_link_resolution_shortcut_equals_urljoin(
    base: str, scheme: str, host: str, rest: str
) -> None:
    """Links already absolute and plain skip urljoin; the result must be urljoin's."""
    from urllib.parse import urljoin

    from watcher.fast_xml import ABSOLUTE as _ABSOLUTE
    from watcher.fast_xml import resolve as _resolve

    def outcome(join: Callable[[str, str], str]) -> str:
        try:
            return join(base, link)
        except ValueError as exc:  # urljoin rejects some (e.g. "[" in the host)
            return f"error: {exc}"

    link = scheme + host + rest
    assert outcome(_resolve) == outcome(urljoin)
    if _ABSOLUTE.fullmatch(link) is None:
        return
    assert link.startswith(("http://", "https://"))  # the shortcut only takes these


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            _text,
            _text,
            st.sampled_from(["/p/", "https://y.example/q?a=1&b=2", "p/rel"]),
            st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
                lambda d: d.replace(microsecond=0)
            ),
            st.integers(-12 * 60, 14 * 60),
            st.sampled_from(["text", "html"]),
        ),
        max_size=5,
    )
)
def test_fast_atom_matches_feedparser_on_generated_feeds(
    rows: list[tuple[str, str, str, datetime, int, str]],
) -> None:
    entries = []
    for n, (title, summary, link, when, offset, kind) in enumerate(rows):
        sign = "+" if offset >= 0 else "-"
        stamp = (when + timedelta(minutes=offset)).strftime("%Y-%m-%dT%H:%M:%S")
        stamp += f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
        entries.append(
            f"<entry><title type='{kind}'>{escape(title)}</title><link href='{escape(link)}{n}'/>"
            f"<id>urn:g:{n}</id><updated>{stamp}</updated>"
            f"<summary type='{kind}'>{escape(summary)}</summary></entry>"
        )
    body = (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>Generated</title><id>urn:g</id>{''.join(entries)}</feed>"
    ).encode()
    accepted = _same(body, {})
    if all((t + s).isascii() for t, s, *_ in rows):
        assert accepted  # plain text is the fast path's business, not feedparser's


def test_review5_cases_read_like_feedparser() -> None:
    """Found by differential fuzzing (review 5), now read exactly as feedparser does."""
    assert _same(_rss(PLAIN_ITEMS), {"Content-Language": "en_US"})  # feedparser: "en-US"
    assert parse_feed(_rss(PLAIN_ITEMS), {"Content-Language": "en_US"}, BASE).language == "en-US"
    encoded_only = NS_FEED.replace(b"<description>Short teaser</description>", b"")
    assert _same(encoded_only, {})  # feedparser gives content:encoded as the summary too
    assert parse_feed(encoded_only, {}, BASE).items[0].summary.startswith("Long body")


@pytest.mark.parametrize(
    "body",
    [
        REAL_WORLD.replace(b"<image><url>", b"<image><note/><url>"),  # ends feedparser's image
        REAL_WORLD.replace(
            b"<managingEditor>", b"<skipHours><title>T</title></skipHours><managingEditor>"
        ),
        _rss("<item><title>t</title><link>https://x.example/a &amp;amp; b</link></item>"),
        ATOM.replace(b"<link href='https://lab.example/p/2'/>", b"<link href=''/>"),
        ATOM.replace(b"<author><name></name></author>", b"<author>a@b.c (A)</author>"),
        ATOM.replace(
            b"<author><name>Lab</name></author>",
            b"<author><name><title>X</title>Lab</name></author>",
        ),
    ],
    ids=[
        "image-child",
        "skiphours-title",
        "entity-in-link",
        "empty-href",
        "author-text",
        "feed-author-nested",
    ],
)
def test_review5_cases_are_left_to_feedparser(body: bytes) -> None:
    _left_to_feedparser(body)


def _item(inner: str) -> bytes:
    return f'<rss version="2.0"><channel><item>{inner}</item></channel></rss>'.encode()


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (
            _item("<link>https://x.example/1</link><pubDate>01 Jan 0001 00:00:00 +0100</pubDate>"),
            {},
        ),
        (
            _item("<link>https://x.example/1</link><pubDate>31 Dec 9999 23:00:00 -0500</pubDate>"),
            {},
        ),
        (
            ATOM.replace(
                b"<updated>2026-11-02</updated>", b"<updated>9999-12-31T23:00:00-05:00</updated>"
            ),
            {},
        ),
        (_item("<title>&#128;</title><link>https://x.example/1</link>"), {}),  # feedparser: euro
        (
            _item("<link>https://x.example/1</link>"),
            {"Content-Location": "https://other.example/d/"},
        ),
        (_item("<link>https://x.example/1</link>"), {"Content-Type": "text/plain"}),
        (_item("<link> \u00a0x\u3000 </link>"), {}),
        (
            ATOM.replace(b"<id>tag:lab.example,2026:feed</id>", "<id>/\u00c3\u00a9</id>".encode()),
            {},
        ),
        (ATOM.replace(b"href='https://lab.example/p/2'", b"href='/p '"), {}),
    ],
    ids=[
        "year-1",
        "year-9999",
        "atom-year-9999",
        "c1",
        "content-location",
        "text-plain",
        "odd-space-link",
        "atom-id-mojibake",
        "atom-href-space",
    ],
)
def test_review5_fuzzing_cases_are_left_to_feedparser(body: bytes, headers: dict[str, str]) -> None:
    _left_to_feedparser(body, headers)


def test_an_xml_content_type_still_takes_the_fast_path() -> None:
    for ctype in ("application/rss+xml", "text/xml; charset=utf-8", "application/xml"):
        assert _same(_rss(PLAIN_ITEMS), {"Content-Type": ctype})
    assert _same(_rss(PLAIN_ITEMS), {"Content-Location": BASE})


def test_non_ascii_space_around_a_field_not_normalised_is_left_to_feedparser() -> None:
    """feedparser keeps a line separator around <language> that str.strip() would remove."""
    _left_to_feedparser(_rss(PLAIN_ITEMS, "<language>\u2028en\u2029</language>"))
    spaced_title = _rss(
        "<item><title>\u00a0Nbsp title\u00a0</title><link>https://x/1</link></item>"
    )
    assert _same(spaced_title, {})  # titles are normalised by html_to_text either way


# -- the worker's shortcuts for plain text give what the general code gives -------------------

_SPACED = st.lists(
    st.sampled_from(
        [
            *("a", "B", "x y", " ", "  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\u00a0"),
            *("\u2028", "\u3000", "\x85", "\ufb01", "Stra\u00dfe", "\u0130"),
        ]
    ),
    max_size=12,
).map("".join)


@given(st.one_of(st.text(), _SPACED))
@settings(max_examples=400)
def test_squash_shortcut_equals_the_substitution(text: str) -> None:
    lines = (line.strip() for line in _WS.sub(" ", text).split("\n"))
    assert _squash(text) == "\n".join(line for line in lines if line)


@given(st.one_of(st.text(), _SPACED))
@settings(max_examples=400)
def test_content_hash_normalisation_equals_the_regex(text: str) -> None:
    folded = unicodedata.normalize("NFKC", text).casefold()
    assert _normalise_text(text) == re.sub(r"\s+", " ", folded).strip()


_ENGLISHY = st.lists(
    st.sampled_from(["the", "The", "AND", "of", "To", "is", "isthe", "to_", "9of", "x", "_", " "])
    | st.text(alphabet=st.characters(max_codepoint=127), max_size=2),
    max_size=12,
).map("".join)


@given(_ENGLISHY)
@settings(max_examples=400)
def test_english_word_shortcut_equals_the_case_insensitive_pattern(sample: str) -> None:
    assert _english_ascii(sample) == (len(_ENGLISH.findall(sample)) >= 2)


@given(st.lists(st.sampled_from([*UNSAFE, b"<!", b"xml:", b"<!-- c -->", b"x", b"<"]), max_size=5))
def test_unsafe_shortcut_equals_searching_every_word(parts: list[bytes]) -> None:
    body = b" ".join(parts)
    assert _contains_any(body, UNSAFE) == any(w in body for w in UNSAFE)


def test_worker_results_come_back_from_pickle_equal() -> None:
    """Feeds and matches pickle as constructor calls (the worker's results): equal objects."""
    feed = parse_feed(_rss(PLAIN_ITEMS), {}, BASE)
    ev = Evidence("title", 0, 7, "Orbital", "orbital", "Orbital lab")
    match = RuleMatch("r", "R", "high", ("t",), (ev,), 2e9, (("k", "v"),))
    result = PreparedFeed(feed, tuple(Prepared(it.url, "h", "en", [match]) for it in feed.items))
    back = pickle.loads(pickle.dumps(result))
    assert back == result and type(back.prepared[0].matches[0].evidence[0]) is Evidence
