"""canonical_url and content_hash: examples and properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from storage.urls import (
    MIN_HASH_CHARS,
    canonical_url,
    content_hash,
    redacted,
    with_userinfo_of,
    without_userinfo,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "HTTPS://News.Example.COM:443/ai/story?utm_source=x&utm_MEDIUM=y&id=7#top",
            "https://news.example.com/ai/story?id=7",
        ),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/?b=2&a=1&fbclid=abc&gclid=1", "https://example.com/?a=1&b=2"),
        (
            "https://x.example/p?mc_cid=1&mc_eid=2&igshid=3&_hsenc=4&_hsmi=5&yclid=6",
            "https://x.example/p",
        ),
        ("https://x.example/p?ref_src=twsrc&cmpid=rss&msclkid=1&dclid=2", "https://x.example/p"),
        ("https://x.example/%7euser/a%2fb", "https://x.example/~user/a%2Fb"),
        ("https://x.example/a b/é", "https://x.example/a%20b/%C3%A9"),
        ("https://Bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://example.com./x", "https://example.com/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("https://example.com/p?q=a&&q=b&", "https://example.com/p?q=a&q=b"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("not a url", "not a url"),
        ("  ", ""),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("http://host:notaport/x", "http://host:notaport/x"),
        ("http://[::1/x", "http://[::1/x"),
    ],
)
def test_canonical_url_examples(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_tracking_variants_share_one_canonical_form() -> None:
    variants = [
        "https://news.example/a?utm_source=rss&utm_campaign=feed",
        "https://NEWS.example:443/a?fbclid=IwAR0",
        "https://news.example/a#comments",
        "https://news.example/a?utm_content=x&gclid=y",
    ]
    assert {canonical_url(v) for v in variants} == {"https://news.example/a"}


def test_meaningful_parameters_are_kept() -> None:
    assert canonical_url("https://x.example/?p=1") != canonical_url("https://x.example/?p=2")
    assert canonical_url("https://x.example/a") != canonical_url("https://x.example/b")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_canonical_url_total_and_idempotent_on_any_text(raw: str) -> None:
    once = canonical_url(raw)
    assert isinstance(once, str)
    assert canonical_url(once) == once


_junk = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http", "HTTPS", "https", "ftp", "Http"]),
    st.text(min_size=1, max_size=20),
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":x", ":"]),
    _junk,
    st.lists(st.tuples(_junk, _junk), max_size=4),
    _junk,
)
def test_canonical_url_idempotent_on_url_shaped_text(
    scheme: str, host: str, port: str, path: str, params: list[tuple[str, str]], frag: str
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params)
    raw = f"{scheme}://{host}{port}/{path}?{query}#{frag}"
    once = canonical_url(raw)
    assert canonical_url(once) == once
    assert "#" not in once or once == raw.strip()


@settings(max_examples=200, deadline=None)
@given(urls())
def test_canonical_url_of_valid_urls(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "#" not in once
    assert once.split("://", 1)[0] == once.split("://", 1)[0].lower()


def test_content_hash_normalises_case_width_and_whitespace() -> None:
    text = "DeepSeek announced a new model today. " * 10
    a = content_hash("DeepSeek V4", text)
    assert len(a) == 64
    assert a == content_hash("deepseek  v4", "  " + text.upper().replace(" ", "\n  "))
    # NFKC: full-width letters fold to ASCII
    assert content_hash("ＤｅｅｐＳｅｅｋ V4", text) == a
    assert content_hash("Other title", text) != a
    assert content_hash("DeepSeek V4", text + " More.") != a


def test_content_hash_empty_for_short_text() -> None:
    assert content_hash("Title", "x" * (MIN_HASH_CHARS - 1)) == ""
    assert content_hash("Title", "   " + "x " * 50) == ""
    assert content_hash("Title", "x" * MIN_HASH_CHARS) != ""


@given(st.text(), st.text())
def test_content_hash_total(title: str, text: str) -> None:
    h = content_hash(title, text)
    assert h == "" or len(h) == 64


_plain_host = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?", fullmatch=True)
_plain_path = st.text(
    alphabet=st.sampled_from("abcXYZ019-._~/:@!$&'()*+,;=%?# \t\u00e9"), max_size=30
)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTP"]),
    _plain_host,
    st.sampled_from(["", ":80", ":443", ":8080", ":08080", ":65535", ":99999"]),
    _plain_path,
)
def test_canonical_url_fast_path_agrees_with_the_parser(
    scheme: str, host: str, port: str, path: str
) -> None:
    """The shortcut for URLs already in canonical form gives what full parsing gives."""
    from storage.urls import _canonical_url_parsed

    raw = f"{scheme}://{host}{port}/{path}"
    assert canonical_url(raw) == _canonical_url_parsed(raw)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:s3cret@host.example/feed?a=1", "https://alice:***@host.example/feed?a=1"),
        ("https://TOKEN@host.example/x", "https://***@host.example/x"),
        ("https://u:p@w@host.example:8080/x", "https://u:***@host.example:8080/x"),
        ("http://host.example/a@b?q=c@d#e@f", "http://host.example/a@b?q=c@d#e@f"),
        ("mailto:someone@example.org", "mailto:someone@example.org"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("", ""),
    ],
)
def test_redacted_hides_the_password_of_a_url(url: str, shown: str) -> None:
    assert redacted(url) == shown


@given(
    user=st.text(alphabet=string.ascii_letters + string.digits + "-._~%", max_size=12),
    password=st.text(  # unescaped "@", "#" and "?" too: a user may type them so
        alphabet=string.ascii_letters + string.digits + "-._~%!$&'()*+,;=@#?",
        min_size=1,
        max_size=24,
    ),
    path=st.text(alphabet=string.ascii_letters + "/?#=&@:", max_size=30),
)
def test_redacted_never_shows_a_password(user: str, password: str, path: str) -> None:
    url = f"https://{user}:{password}@news.example.org/{path}"
    shown = redacted(url)
    assert shown == f"https://{user}:***@news.example.org/{path}"
    assert redacted(shown) == shown


def test_userinfo_is_dropped_for_links_and_kept_where_a_source_moved_on_its_host() -> None:
    assert without_userinfo("https://a:b@news.example/feed") == "https://news.example/feed"
    assert without_userinfo("https://news.example/@me") == "https://news.example/@me"
    assert without_userinfo("https://news.example?to=a@b.example") == (
        "https://news.example?to=a@b.example"
    )
    assert without_userinfo("https://u:p@w@news.example:8080/f?x=@y") == (
        "https://news.example:8080/f?x=@y"
    )
    old = "http://alice:s3cret@news.example/old.rss"
    assert with_userinfo_of(old, "http://news.example/new.rss") == (
        "http://alice:s3cret@news.example/new.rss"
    )
    assert with_userinfo_of(old, "https://news.example/new.rss") == (  # http -> https
        "https://alice:s3cret@news.example/new.rss"
    )
    assert with_userinfo_of(old, "https://cdn.example/new.rss") == "https://cdn.example/new.rss"
    assert with_userinfo_of(old, "http://news.example:8080/x") == "http://news.example:8080/x"
    assert with_userinfo_of(old, "http://bob:x@news.example/x") == "http://bob:x@news.example/x"
    assert with_userinfo_of("http://news.example/a", "http://news.example/b") == (
        "http://news.example/b"
    )
