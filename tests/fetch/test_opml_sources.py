"""OPML round trip and the ``watcher sources`` commands (add with autodiscovery, import,
export, list with health)."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from tests.support.servers import LocalHTTPServer, Route
from watcher.cli import main
from watcher.cli.sources_cmd import _toml_str
from watcher.config import load_config
from watcher.errors import ParseError
from watcher.opml import OpmlSource, parse_opml, source_name, unique_names, write_opml

NESTED = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="AI">
    <outline text="Labs">
      <outline type="rss" text="Lab One" xmlUrl="https://one.example.org/feed" htmlUrl="https://one.example.org/"/>
    </outline>
    <outline type="rss" title="Chips &amp; Capex" text="ignored" xmlUrl="https://chips.example.com/rss?x=1&amp;y=2"/>
  </outline>
  <outline type="rss" text="Top level" xmlUrl="https://top.example.net/atom.xml"/>
  <outline text="Empty folder"/>
</body></opml>
"""


def test_nested_opml_round_trip() -> None:
    entries = parse_opml(NESTED)
    assert [(e.title, e.url, e.category) for e in entries] == [
        ("Lab One", "https://one.example.org/feed", ("AI", "Labs")),
        ("Chips & Capex", "https://chips.example.com/rss?x=1&y=2", ("AI",)),
        ("Top level", "https://top.example.net/atom.xml", ()),
    ]
    again = parse_opml(write_opml(entries))
    assert {(e.title, e.url, e.category, e.html_url) for e in again} == {
        (e.title, e.url, e.category, e.html_url) for e in entries
    }
    kinds = parse_opml(write_opml([OpmlSource("P", "https://p.example/", kind="page")]))
    assert kinds[0].kind == "page"


def test_bad_opml() -> None:
    with pytest.raises(ParseError):
        parse_opml(b"<html><body/></html>")
    with pytest.raises(ParseError):
        parse_opml(b"<opml><body><outline")


def test_corpus_opml_files(shared_corpus: Path) -> None:
    files = sorted((shared_corpus / "feeds").rglob("*.opml"))
    assert files
    for f in files:
        for e in parse_opml(f.read_bytes()):
            assert e.url.startswith("http")


def test_source_names_are_valid_and_unique() -> None:
    import re

    entries = [
        OpmlSource("Le Monde — IA", "https://a/"),
        OpmlSource("Le Monde — IA", "https://b/"),
        OpmlSource("深度", "https://www.deep.example.cn/rss"),
    ]
    names = unique_names(entries, taken={"Le-Monde-IA"})
    assert names == ["Le-Monde-IA-2", "Le-Monde-IA-3", "deep.example.cn"]
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", n) for n in names)
    assert source_name("x" * 100, "https://a/") == "x" * 64


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    p = tmp_path / "watcher.toml"
    p.write_text(
        f'[storage]\npath = "{tmp_path / "w.db"}"\n\n[[source]]\nname = "existing"\n'
        'url = "https://existing.example.org/feed"\nfulltext = false\n',
        encoding="utf-8",
    )
    return p


def test_import_then_export(cfg_file: Path, tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_bytes(NESTED)
    runner = CliRunner()
    res = runner.invoke(main, ["--config", str(cfg_file), "sources", "import", str(opml)])
    assert res.exit_code == 0, res.output
    assert "imported 3" in res.output
    names = [s.name for s in load_config(cfg_file).sources]
    assert names == ["existing", "Lab-One", "Chips-Capex", "Top-level"]
    again = runner.invoke(main, ["--config", str(cfg_file), "sources", "import", str(opml)])
    assert "imported 0" in again.output
    cats = {s.name: s.category for s in load_config(cfg_file).sources}
    assert cats == {
        "existing": (),
        "Lab-One": ("AI", "Labs"),
        "Chips-Capex": ("AI",),
        "Top-level": (),
    }
    out = runner.invoke(main, ["--config", str(cfg_file), "sources", "export"])
    assert out.exit_code == 0
    exported = parse_opml(out.output.encode())
    assert {e.url for e in exported} == {s.url for s in load_config(cfg_file).sources}
    # the folders survive the round trip: nested outlines -> category -> nested outlines
    assert {e.url: e.category for e in exported} == {
        s.url: s.category for s in load_config(cfg_file).sources
    }


def test_category_config_key(tmp_path: Path) -> None:
    from watcher.config import parse_config
    from watcher.errors import ConfigError

    def sources(category: object) -> object:
        src = {"name": "a", "url": "https://a.example/feed", "category": category}
        return parse_config({"source": [src]}, path=None, env={}).sources[0].category

    assert sources("AI labs") == ("AI labs",)
    assert sources([" AI ", "China"]) == ("AI", "China")
    for bad in ("", ["ok", ""], [1], 3):
        with pytest.raises(ConfigError, match="category"):
            sources(bad)


MIXED = """<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline text="Tech">
  <outline text="Good" xmlUrl="https://good.example.org/feed"/>
  <outline text="Emoji \U0001f600" xmlUrl="https://emoji.example.org/\U0001f600/feed?q=&quot;a\\b&quot;"/>
</outline>
<outline text="Podcast" xmlUrl="feed://pod.example.org/rss"/>
<outline text="Wrapped" xmlUrl="feed:https://wrapped.example.org/rss"/>
<outline text="Ftp" xmlUrl="ftp://files.example.org/rss"/>
<outline text="Script" xmlUrl="javascript:alert(1)"/>
<outline text="No host" xmlUrl="http:///feed"/>
<outline text="Bad port" xmlUrl="http://bad.example.org:99999/feed"/>
<outline text="Again" xmlUrl="https://existing.example.org/feed"/>
</body></opml>
""".encode()


def test_import_skips_invalid_outlines_and_keeps_the_rest(cfg_file: Path, tmp_path: Path) -> None:
    # review2 #8: one bad outline (feed://, ftp:, ...) or a non-BMP character used to roll back
    # the whole import
    opml = tmp_path / "mixed.opml"
    opml.write_bytes(MIXED)
    runner = CliRunner()
    res = runner.invoke(main, ["--config", str(cfg_file), "sources", "import", str(opml)])
    assert res.exit_code == 0, res.output
    assert "imported 4 source(s), 1 already present, 4 skipped" in res.output
    for bad in ("ftp://files", "javascript:", "http:///feed", ":99999"):
        assert bad in res.output  # each skipped outline is reported
    urls = [s.url for s in load_config(cfg_file).sources]
    assert urls == [
        "https://existing.example.org/feed",
        "https://good.example.org/feed",
        'https://emoji.example.org/\U0001f600/feed?q="a\\b"',
        "http://pod.example.org/rss",
        "https://wrapped.example.org/rss",
    ]
    assert "\U0001f600" in cfg_file.read_text(encoding="utf-8")  # written as is, not escaped


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_toml_strings_round_trip(value: str) -> None:
    # json.dumps wrote surrogate escapes for non-BMP characters, which TOML rejects
    assert tomllib.loads(f"k = {_toml_str(value)}")["k"] == value
    assert tomllib.loads("k = " + _toml_str("a\udc80"))["k"] == "a\ufffd"


def test_add_discovers_the_feed(cfg_file: Path, http_server: LocalHTTPServer) -> None:
    feed = (
        Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "rss2-ttl.xml"
    ).read_bytes()
    http_server.routes["/"] = Route(
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/news/rss.xml">'
        b"</head><body>home</body></html>"
    )
    http_server.routes["/news/rss.xml"] = Route(feed, content_type="application/rss+xml")
    http_server.routes["/blog/"] = Route(b"<html><body>no links</body></html>")
    http_server.routes["/blog/feed"] = Route(feed, content_type="application/rss+xml")  # not here
    http_server.routes["/feed"] = Route(feed, content_type="application/rss+xml")  # common path
    runner = CliRunner()
    res = runner.invoke(main, ["--config", str(cfg_file), "sources", "add", http_server.url("/")])
    assert res.exit_code == 0, res.output
    src = load_config(cfg_file).sources[-1]
    assert (src.name, src.url, src.kind) == (
        "Compute-Ledger",
        http_server.url("/news/rss.xml"),
        "feed",
    )
    res = runner.invoke(
        main,
        ["--config", str(cfg_file), "sources", "add", http_server.url("/blog/"), "--name", "blog"],
    )
    assert res.exit_code == 0, res.output
    assert load_config(cfg_file).source("blog").url == http_server.url("/feed")
    dup = runner.invoke(
        main, ["--config", str(cfg_file), "sources", "add", http_server.url("/"), "--name", "x"]
    )
    assert dup.exit_code != 0 and "already a source" in dup.output


def test_adding_a_source_with_a_password_never_shows_it(
    cfg_file: Path, http_server: LocalHTTPServer
) -> None:
    """Review 14: `watcher sources add` printed the URL's password in its messages."""
    runner = CliRunner()
    dead = "http://alice:s3cret@127.0.0.1:9/feed"  # nothing listens on port 9
    res = runner.invoke(main, ["--config", str(cfg_file), "sources", "add", dead])
    assert res.exit_code != 0 and "alice:***@" in res.output
    http_server.routes["/private.rss"] = Route(
        b"<rss><channel><title>P</title></channel></rss>", content_type="application/rss+xml"
    )
    url = http_server.url("/private.rss").replace("http://", "http://alice:s3cret@")
    res = runner.invoke(main, ["--config", str(cfg_file), "sources", "add", url, "--name", "p"])
    assert res.exit_code == 0, res.output
    assert load_config(cfg_file).source("p").url == url  # kept, to be fetched with
    listed = runner.invoke(main, ["--config", str(cfg_file), "sources", "--format", "json"])
    for out in (res.output, listed.output):
        assert "s3cret" not in out and "alice:***@" in out


def test_list_shows_health(cfg_file: Path) -> None:
    from storage.models import FetchLogEntry, SourceDef
    from storage.sqlite import open_store

    cfg = load_config(cfg_file)
    with open_store(cfg.storage.path) as store:
        now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
        store.sync_sources(
            [SourceDef("existing", "https://existing.example.org/feed", "feed")], now
        )
        store.record_fetch(
            FetchLogEntry(
                "existing", "https://existing.example.org/feed", now, "error", 503, "HTTP 503"
            )
        )
    runner = CliRunner()
    res = runner.invoke(main, ["--config", str(cfg_file), "sources"])
    assert res.exit_code == 0, res.output
    assert "FAILING" in res.output and "HTTP 503" in res.output
    res = runner.invoke(main, ["--config", str(cfg_file), "sources", "--format", "json"])
    (row,) = json.loads(res.output)
    assert row["state"] == "failing" and row["consecutive_failures"] == 1
